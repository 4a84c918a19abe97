"""The words of the alerts, from `templates/`: messages (`templates/email/`, text and
HTML) and pages (`templates/web/`). `.html` is escaped, `.txt` is not, so a search or a
title that someone typed can break neither a page nor a message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional

import jinja2

from bot.messages import TEMPLATES
from bot.procurement.dates import format_datetime
from bot.procurement.money import format_amount

LANGUAGES = ("en", "fr")


def _money(value: Any, lang: str) -> str:
    return "" if value is None else format_amount(Decimal(value), lang)


def _when(value: Optional[datetime], lang: str, tz: str = "UTC") -> str:
    return "" if value is None else format_datetime(value, lang, tz)


def _line(text: Optional[str], limit: int = 300) -> str:
    """Someone's text on one line, at most `limit` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=None)
def environment(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES / folder)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(money=_money, when=_when, line=_line)
    return env


def render_email(path: str, **values: Any) -> str:
    return environment("email").get_template(path).render(**values).strip()


def render_page(path: str, **values: Any) -> str:
    return environment("web").get_template(path).render(**values).strip()
