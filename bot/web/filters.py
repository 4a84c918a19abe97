"""The board's filters, read from a query string and written back into links.

`q`, `skill`, `org`, `min`, `max`, `closes_before`, `state`, `page` (PRODUCT.md
"The exchange"). An empty field counts as absent (a submitted form sends
every field); an unknown parameter is ignored (links carry tracking
parameters). A value that cannot be read is a `FilterError` naming the
filters, which the board answers with 400 and a page that says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Mapping, Optional
from urllib.parse import urlencode

from bot.procurement.money import AmountError, parse_amount
from storage.board import STATE_FILTERS, Search, words

NAMES = ("q", "skill", "org", "min", "max", "closes_before", "state", "page")
MAX_TEXT = 200
MAX_PAGE = 100_000
# A GitHub account name: letters, digits and single inner hyphens.
ORG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class FilterError(ValueError):
    def __init__(self, names: list[str], filters: "Filters"):
        super().__init__(", ".join(names))
        self.names = names
        self.filters = filters  # what could be read, to fill the form again


@dataclass(frozen=True)
class Filters:
    """The filters as a person typed them (for the form and links) and as read."""

    given: dict = field(default_factory=dict)  # name -> text, only those given
    search: Search = Search()
    page: int = 1

    @property
    def state(self) -> str:
        return self.given.get("state", "open")

    def value(self, name: str) -> str:
        return self.given.get(name, "")

    def query(self, page: Optional[int] = None, state: Optional[str] = None) -> str:
        """The canonical query string ("" or "?..."): filters in a fixed order."""
        values = dict(self.given)
        values.pop("page", None)
        if state is not None:
            values["state"] = state
        if values.get("state") == "open":
            values.pop("state")
        if page and page > 1:
            values["page"] = str(page)
        pairs = [(name, values[name]) for name in NAMES if values.get(name)]
        return "?" + urlencode(pairs) if pairs else ""

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the default list (the state aside)."""
        return any(self.given.get(n) for n in NAMES if n not in ("state", "page"))

    def without_page(self) -> "Filters":
        given = {k: v for k, v in self.given.items() if k != "page"}
        return Filters(given=given, search=self.search, page=1)


def _amount(text: str) -> Decimal:
    amount = parse_amount(text)
    if amount < 0:
        raise AmountError("amount_unreadable", text=text)
    return amount


def _day(text: str) -> datetime:
    if not DATE_RE.match(text):
        raise ValueError(text)
    return datetime.combine(date.fromisoformat(text), time(0, 0), tzinfo=timezone.utc)


def parse_filters(params: Mapping[str, str]) -> Filters:
    """Reads the filters; raises FilterError naming each one that cannot be read."""
    given = {}
    for name in NAMES:
        value = params.get(name)
        if value is not None and value.strip():
            given[name] = " ".join(value.split())[:MAX_TEXT]
    bad: list[str] = []
    read: dict = {}
    if "q" in given:
        read["words"] = words(given["q"])
    if "skill" in given:
        read["skill"] = words(given["skill"])
    if "org" in given:
        if ORG_RE.match(given["org"]):
            read["org"] = given["org"]
        else:
            bad.append("org")
    for name, key in (("min", "min_value"), ("max", "max_value")):
        if name in given:
            try:
                read[key] = _amount(given[name])
            except AmountError:
                bad.append(name)
    if "min_value" in read and "max_value" in read and read["min_value"] > read["max_value"]:
        bad.append("max")
    if "closes_before" in given:
        try:
            read["closes_before"] = _day(given["closes_before"])
        except ValueError:
            bad.append("closes_before")
    if "state" in given:
        state = given["state"].lower()
        if state in STATE_FILTERS:
            given["state"] = state
            read["states"] = STATE_FILTERS[state]
        else:
            bad.append("state")
    page = 1
    if "page" in given:
        text = given["page"]
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAGE:
            page = int(text)
        else:
            bad.append("page")
    if bad:
        # The form shows what was typed, to be corrected (a state or page cannot be shown).
        shown = {k: v for k, v in given.items() if k not in bad or k not in ("state", "page")}
        raise FilterError(bad, Filters(given=shown, search=Search(**read), page=1))
    return Filters(given=given, search=Search(**read), page=page)
