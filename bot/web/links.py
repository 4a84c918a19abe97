"""Where each page of the board lives, and links between them that work from anywhere.

Served, the pages have the paths of PRODUCT.md ("/en/", "/en/opportunities/
OWNER/REPO/NUMBER", "/en/feed.atom", "/api/opportunities"...). Written by
`devex-bot board --out DIR` they are files ("en/index.html", "en/
opportunities/OWNER/REPO/NUMBER.html", "api/opportunities.json"...). Every link
in a page is relative to that page, so the board works behind any path prefix
and from any folder, `file://` included (static links name their file, never a
bare folder). Feeds carry absolute links: to the board when its public address
is known (DEVEX_PUBLIC_URL, or the address a request came to), else to the issue.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional
from urllib.parse import quote, urlencode

from bot.web.filters import Filters

STYLESHEET = "static/board.css"


@lru_cache(maxsize=16384)
def relative(target: str, here: str) -> str:
    """`target` as seen from the page at `here` (both paths from the root)."""
    path, _, query = target.partition("?")
    start = posixpath.dirname("/" + here.partition("?")[0].lstrip("/")) or "/"
    link = posixpath.relpath("/" + path.lstrip("/"), start)
    if path.endswith("/"):
        link = "./" if link == "." else link + "/"
    return link + ("?" + query if query else "")


@lru_cache(maxsize=4096)
def _narrowed(lang: str, name: str, value: str) -> str:
    return f"/{lang}/?" + urlencode({name: value})


@dataclass(frozen=True)
class Site:
    """The paths of one way of publishing the board: served (`static=False`) or as files."""

    static: bool = False
    base_url: Optional[str] = None  # absolute address of the board's root, for feeds

    def home(self) -> str:
        return "index.html" if self.static else "/"

    def stylesheet(self) -> str:
        return STYLESHEET

    def list(self, lang: str, filters: Optional[Filters] = None, page: int = 1, state: Optional[str] = None) -> str:
        filters = filters or Filters()
        if not self.static:
            return f"/{lang}/" + filters.query(page=page, state=state)
        state = state or filters.state
        name = "index" if state == "open" else state
        return f"{lang}/{name}.html" if page == 1 else f"{lang}/{name}-page-{page}.html"

    def narrowed(self, lang: str, name: str, value: str) -> str:
        """The open list narrowed by one filter (a skill, an organization): served only."""
        return _narrowed(lang, name, value)

    def detail(self, lang: str, repository: str, number: int) -> str:
        owner, _, repo = repository.partition("/")
        path = f"{lang}/opportunities/{quote(owner)}/{quote(repo)}/{number}"
        return path + ".html" if self.static else "/" + path

    def feed(self, lang: str, filters: Optional[Filters] = None) -> str:
        if self.static:
            return f"{lang}/feed.atom"
        return f"/{lang}/feed.atom" + (filters.query() if filters else "")

    def api_list(self, filters: Optional[Filters] = None, page: int = 1) -> str:
        if self.static:
            return "api/opportunities.json" if page == 1 else f"api/opportunities-page-{page}.json"
        return "/api/opportunities" + (filters.query(page=page) if filters else "")

    def api_detail(self, repository: str, number: int) -> str:
        owner, _, repo = repository.partition("/")
        path = f"api/opportunities/{quote(owner)}/{quote(repo)}/{number}"
        return path + ".json" if self.static else "/" + path

    def absolute(self, path: str) -> Optional[str]:
        if not self.base_url:
            return None
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class Links:
    """The links of one page: each target made relative to `here`."""

    site: Site
    here: str

    def home(self) -> str:
        return relative(self.site.home(), self.here)

    def stylesheet(self) -> str:
        return relative(self.site.stylesheet(), self.here)

    def list(self, lang: str, filters: Optional[Filters] = None, page: int = 1, state: Optional[str] = None) -> str:
        return relative(self.site.list(lang, filters, page, state), self.here)

    def detail(self, lang: str, repository: str, number: int) -> str:
        return relative(self.site.detail(lang, repository, number), self.here)

    def narrowed(self, lang: str, name: str, value: str) -> str:
        return relative(self.site.narrowed(lang, name, value), self.here)

    def feed(self, lang: str, filters: Optional[Filters] = None) -> str:
        return relative(self.site.feed(lang, filters), self.here)

    def api_list(self, filters: Optional[Filters] = None, page: int = 1) -> str:
        return relative(self.site.api_list(filters, page), self.here)

    def api_detail(self, repository: str, number: int) -> str:
        return relative(self.site.api_detail(repository, number), self.here)
