"""Every message the bot writes, rendered from `templates/` in English then French.

`render("bid_receipt", ...)` renders `templates/en/bid_receipt.md` and
`templates/fr/bid_receipt.md` with the same values and joins them with a rule,
as the Government of Canada does. Each language has its own filters for
money and dates. Text that users wrote goes through `user_text`, `user_block`
or `verbatim`, so it can neither mention anyone nor break the message.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import jinja2

from bot.procurement.dates import format_datetime
from bot.procurement.money import format_amount

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("en", "fr")
RULE = "\n\n---\n\n"

# GitHub rejects comment and issue bodies over 65,536 characters.
GITHUB_BODY_LIMIT = 65536

# Characters that make markdown or HTML out of plain text.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~<>&])")
# An @ that GitHub would turn into a mention or a team ping.
MENTION = re.compile(r"@(?=[A-Za-z0-9])")
ZERO_WIDTH_SPACE = "\u200b"
ELLIPSIS = "…"


def marker(name: str) -> str:
    """A hidden marker that lets the bot find its own text again."""
    return f"<!-- devex-bot:{name} -->"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def user_text(text: Optional[str], limit: int = 300) -> str:
    """Inline user text: one line, no mention, no markdown, no HTML."""
    text = " ".join((text or "").split())
    text = _truncate(text, limit)
    text = MARKDOWN_SPECIAL.sub(lambda m: "&#%d;" % ord(m.group(1)) if m.group(1) in "<>&`" else "\\" + m.group(1), text)
    return MENTION.sub("@" + ZERO_WIDTH_SPACE, text)


def user_block(text: Optional[str], limit: int = 3000) -> str:
    """Multi-line user text as a quote: each line neutralised."""
    text = _truncate((text or "").strip(), limit)
    if not text:
        return ""
    return "\n".join("> " + user_text(line, limit) if line.strip() else ">" for line in text.splitlines())


def verbatim(text: Optional[str]) -> str:
    """User text shown exactly as written (for checking a receipt hash): a fence
    longer than any backtick run inside, where nothing mentions or renders."""
    text = text or ""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def code(text: Optional[str], limit: int = 100) -> str:
    """User text inside a `code span`: nothing there mentions or renders, and a
    backslash shows as itself, so only a backtick (which would end it) is replaced."""
    return _truncate(" ".join(str(text or "").split()), limit).replace("`", "'")


def login(name: Optional[str]) -> str:
    """A GitHub login the bot names on purpose (it may mention)."""
    if not name:
        return ""
    clean = re.sub(r"[^A-Za-z0-9\-\[\]]", "", name)
    return "@" + clean


def _money(lang: str):
    def money(value: Any) -> str:
        if value is None:
            return ""
        return format_amount(Decimal(value), lang)

    return money


def _when(lang: str):
    def when(value: Optional[datetime], tz: str = "UTC") -> str:
        if value is None:
            return ""
        return format_datetime(value, lang, tz)

    return when


def desk_url(lang: str = "en") -> Optional[str]:
    """The bidder's desk, the confidential way to bid: `DEVEX_PUBLIC_URL` + `/en/desk`
    (or `/fr/desk`), None when the board has no public address. Read from the
    environment when rendered, as messages rendered when sent have no settings at hand."""
    base = (os.environ.get("DEVEX_PUBLIC_URL") or "").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        return None
    return f"{base}/{lang}/desk"


def _day(value: Optional[datetime]) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@lru_cache(maxsize=None)
def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES / lang), str(TEMPLATES / "shared")]),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # read once per process: no look at each file's time for every message
    )
    env.filters.update(
        money=_money(lang),
        when=_when(lang),
        utc=_day,
        user_text=user_text,
        user_block=user_block,
        verbatim=verbatim,
        code=code,
        login=login,
    )
    env.globals.update(lang=lang, marker=marker, desk_url=lambda: desk_url(lang))
    # Names of states and the like, per language, shared by every template.
    names = env.get_template("_names.md").make_module()
    env.globals.update({k: getattr(names, k) for k in ("states", "milestone_states", "payment_states", "commands", "command_help", "unlocks") if hasattr(names, k)})
    return env


def render_one(name: str, lang: str, **values: Any) -> str:
    return environment(lang).get_template(f"{name}.md").render(**values).strip()


def render(name: str, *, mark: Optional[str] = None, **values: Any) -> str:
    """English, a rule, then French; a hidden marker first when given."""
    parts = [render_one(name, lang, **values) for lang in LANGUAGES]
    body = RULE.join(parts)
    if mark:
        body = marker(mark) + "\n" + body
    return fit(body)


def fit(body: str, limit: int = GITHUB_BODY_LIMIT) -> str:
    """Keeps a body under GitHub's limit (callers split long content themselves)."""
    if len(body) <= limit:
        return body
    return body[: limit - 200] + "\n\n" + ELLIPSIS + "\n"
