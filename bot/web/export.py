"""`devex-bot board --out DIR`: the board written as static files.

The same pages, feeds and JSON as `devex-bot serve`, for a department that
publishes on its own site or GitHub Pages: the language choice
(`index.html`), each state's list in each language with its pages
(`en/index.html`, `en/page-2.html`... `en/awarded.html`), every listed
opportunity (`en/opportunities/OWNER/REPO/NUMBER.html`), the feeds of open
opportunities (`en/feed.atom`), the JSON (`api/opportunities.json`, its pages,
`api/opportunities/OWNER/REPO/NUMBER.json`) and the stylesheet. Links are
relative and name their files, so the folder works anywhere, from `file://`
too. Feeds link to the board when `DEVEX_PUBLIC_URL` (or `--base-url`) says
where it will be published, else to the issues on GitHub.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import Engine

from bot.web.board import STATES, Board
from bot.web.links import STYLESHEET, Site
from bot.web.render import LANGUAGES, WEB


def _write(out: Path, path: str, text: str) -> None:
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def export(engine: Engine, out: Path, base_url: Optional[str] = None) -> int:
    """Writes the board into `out`; returns how many files were written."""
    board = Board(engine)
    site = Site(static=True, base_url=base_url)
    written = 0

    def write(path: str, text: str) -> None:
        nonlocal written
        _write(out, path, text)
        written += 1

    write(site.home(), board.home(site).body)
    (out / STYLESHEET).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(WEB / "static" / "board.css", out / STYLESHEET)
    written += 1
    for lang in LANGUAGES:
        for state in STATES:
            first = board.listing(lang, {"state": state}, site)
            write(site.list(lang, state=state), first.body)
            for page in range(2, first.pages + 1):
                write(site.list(lang, state=state, page=page), board.listing(lang, {"state": state, "page": str(page)}, site).body)
        write(site.feed(lang), board.feed(lang, {}, site).body)
    first = board.api_list({}, site)
    write(site.api_list(), first.body)
    for page in range(2, first.pages + 1):
        write(site.api_list(page=page), board.api_list({"page": str(page)}, site).body)
    for repository, number in board.listed():
        owner, _, repo = repository.partition("/")
        for lang in LANGUAGES:
            write(site.detail(lang, repository, number), board.detail(lang, owner, repo, str(number), site).body)
        write(site.api_detail(repository, number), board.api_detail(owner, repo, str(number), site).body)
    return written
