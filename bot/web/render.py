"""The board's HTML and Atom, rendered from `templates/web/` with each language's words.

The words of the board are in `templates/web/en.yml` and `templates/web/fr.yml`
(the same keys in both), given to every template as `t`; the templates hold
the structure, once for both languages. Autoescape is on: text that users
wrote (a title holding `<script>`) shows as text. Amounts and dates are
written for each language by `bot.procurement.money` and `dates`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import jinja2
import yaml
from markupsafe import Markup, escape

from bot.procurement.dates import format_datetime
from bot.procurement.money import format_amount

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
WEB = TEMPLATES / "web"
LANGUAGES = ("en", "fr")
OTHER = {"en": "fr", "fr": "en"}

# Characters XML 1.0 cannot carry (an Atom feed holding one is not well-formed).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A date and a time of day as format_datetime writes them: never broken across lines.
DATE_AND_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d(?::| h )\d\d")
# How people separate skills in the form's free text.
SKILL_SEPARATORS = re.compile(r"[,;\n\u2022·/]+|\s+-\s+")
MAX_SKILLS = 12


class Words:
    """One language's words, read as `t.list.heading` or `t.states[state]`. Each key
    is a real attribute (a plain dict would answer `t.filters.clear` with its own
    method, and a `__getattr__` costs an exception per word)."""

    def __init__(self, data: dict):
        for key, value in data.items():
            self.__dict__[str(key)] = Words(value) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__

    def items(self):
        return self.__dict__.items()


@lru_cache(maxsize=None)
def words(lang: str) -> Words:
    """The board's words in `lang` (templates/web/LANG.yml)."""
    return Words(yaml.safe_load((WEB / f"{lang}.yml").read_text(encoding="utf-8")))


def iso(value: Optional[datetime]) -> str:
    """ISO 8601 in UTC, to the second: 2026-11-20T19:00:00Z."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def skill_list(text: Optional[str]) -> list[str]:
    """The skills of the form's free text, one by one."""
    found = []
    for part in SKILL_SEPARATORS.split(text or ""):
        part = " ".join(part.strip(" .*-_").split())
        if part and part.lower() not in (s.lower() for s in found):
            found.append(part)
    return found[:MAX_SKILLS]


def _when_html(lang: str):
    def when_html(value: Optional[datetime], tz: str = "UTC") -> Markup:
        """format_datetime's words, each date with its time kept on one line."""
        if value is None:
            return Markup("")
        text = str(escape(format_datetime(value, lang, tz)))
        return Markup(DATE_AND_TIME.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', text))

    return when_html


def xml_text(value: Any) -> str:
    return NOT_XML.sub("", "" if value is None else str(value))


def _fill(text: str, **values: Any) -> Markup:
    """A sentence of the words file with its {placeholders} filled: the sentence and
    the values are escaped, except values that are markup already (`code(...)`)."""
    if not any(isinstance(v, Markup) for v in values.values()):
        return escape(text.format_map(values))  # the common case, and much the cheaper
    return Markup(escape(text)).format_map(values)


def _code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def _plural(forms: dict, count: int) -> Markup:
    """`forms` has `zero`, `one` and `other`, each may hold {count}."""
    key = "zero" if count == 0 else "one" if count == 1 else "other"
    return _fill(forms[key], count=count)


@lru_cache(maxsize=None)
def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        # templates/ for the board's pages (web/...), templates/web/ for the alert partials they include.
        loader=jinja2.FileSystemLoader([str(TEMPLATES), str(TEMPLATES / "web")]),
        autoescape=jinja2.select_autoescape(["html", "atom"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are read once per process
    )
    env.filters.update(
        money=lambda value: "" if value is None else format_amount(Decimal(value), lang),
        when=lambda value, tz="UTC": "" if value is None else format_datetime(value, lang, tz),
        when_html=_when_html(lang),
        iso=iso,
        skill_list=skill_list,
        xml_text=xml_text,
        fill=_fill,
        plural=_plural,
    )
    env.globals.update(lang=lang, other=OTHER[lang], t=words(lang), words_of=words, code=_code)
    return env


def render(template: str, lang: str, **values: Any) -> str:
    return environment(lang).get_template(template).render(**values)
