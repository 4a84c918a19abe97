"""The desk's HTML, rendered from `templates/web/desk/` with each language's words.

The words are in `templates/web/desk/en.yml` and `fr.yml` (the same keys in
both, a test checks), given to every template as `t`; the templates hold the
structure once for both languages. Autoescape is on: what people wrote (a
proposal holding `<script>`) shows as text.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup, escape

from bot.procurement.dates import format_datetime
from bot.procurement.money import format_amount

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
DESK = TEMPLATES / "web" / "desk"
LANGUAGES = ("en", "fr")
OTHER = {"en": "fr", "fr": "en"}


class Words:
    """One language's words, read as `t.desk.heading` or `t.refusals[code]`."""

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return Words(value) if isinstance(value, dict) else value

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._data else default


@lru_cache(maxsize=None)
def words(lang: str) -> Words:
    return Words(yaml.safe_load((DESK / f"{lang}.yml").read_text(encoding="utf-8")))


def _fill(text: str, **values: Any) -> Markup:
    """A sentence with its {placeholders} filled, sentence and values escaped."""
    return Markup(escape(text)).format_map({k: escape(v) if not isinstance(v, Markup) else v for k, v in values.items()})


def other_path(here: str, lang: str) -> str:
    """The same page in the other language: /en/desk <-> /fr/desk."""
    other = OTHER[lang]
    if here == f"/{lang}" or here.startswith(f"/{lang}/"):
        return f"/{other}" + here[len(lang) + 1:]
    return f"/{other}/desk"


@lru_cache(maxsize=None)
def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=lambda value: "" if value is None else format_amount(Decimal(value), lang),
        when=lambda value, tz="UTC": "" if value is None else format_datetime(value, lang, tz),
        utc=lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC"),
        fill=_fill,
    )
    env.globals.update(lang=lang, other=OTHER[lang], t=words(lang))
    return env


# Desk pages run no script, are never framed (a form under another site's overlay),
# post only to this site, and tell no other site which page a link was followed from.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(template: str, lang: str, here: str, **values: Any) -> str:
    values.setdefault("person", None)
    values.setdefault("csrf", "")
    return environment(lang).get_template(f"web/{template}").render(here=here, other_url=other_path(here, lang), **values)
