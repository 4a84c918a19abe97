"""A saved search (an alert's `skill`, `org`, `min`, `max`) and whether an opportunity matches it.

Plain values in, plain values out: the form's fields are read into a
:class:`Search` (or problems with stable codes that `templates/` words), and
:func:`matches` says whether an opportunity's terms fit it. An empty field
does not narrow the search; a search with every field empty matches every
opportunity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping, Optional

from bot.procurement.money import AmountError, parse_amount

#: Longest skill or organization worth keeping (a GitHub login is at most 39).
MAX_TERM = 100

#: Every problem code :func:`read_search` gives (`templates/web/` words each).
SEARCH_PROBLEMS = ("min_unreadable", "max_unreadable", "min_negative", "max_negative", "min_above_max", "term_too_long")

# Where a list of skills is cut: commas, semicolons, slashes, bullets, line ends.
SKILL_SEPARATORS = re.compile(r"[,;/|\n\u2022·]+")
WORD = re.compile(r"[0-9a-z+#]+")


@dataclass(frozen=True)
class Search:
    skill: Optional[str] = None
    org: Optional[str] = None
    min_value: Optional[Decimal] = None
    max_value: Optional[Decimal] = None


@dataclass(frozen=True)
class Terms:
    """What of an opportunity a search looks at."""

    repository: str  # OWNER/REPO
    value: Optional[Decimal]
    skills: Optional[str]


def fold(text: str) -> str:
    """Case, accents and spacing do not matter: `Développement  Web` reads as `developpement web`."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def skill_matches(wanted: str, skills: Optional[str]) -> bool:
    """`python` is in `Python, GitHub Actions`, and so is `actions`, but `java` is not in
    `JavaScript`: the wanted words must appear one after another inside one listed skill."""
    words = _words(wanted)
    if not words:
        return True
    for skill in SKILL_SEPARATORS.split(skills or ""):
        have = _words(skill)
        for start in range(len(have) - len(words) + 1):
            if have[start : start + len(words)] == words:
                return True
    return False


def org_matches(wanted: str, repository: str) -> bool:
    """An owner (`octo-org`), or one repository (`octo-org/procurement`), without regard to case."""
    wanted = wanted.strip().strip("/").casefold()
    if not wanted:
        return True
    repository = repository.casefold()
    if "/" in wanted:
        return repository == wanted
    return repository.split("/", 1)[0] == wanted


def matches(search: Search, terms: Terms) -> bool:
    if search.skill and not skill_matches(search.skill, terms.skills):
        return False
    if search.org and not org_matches(search.org, terms.repository):
        return False
    if search.min_value is not None and (terms.value is None or terms.value < search.min_value):
        return False
    if search.max_value is not None and (terms.value is None or terms.value > search.max_value):
        return False
    return True


def _term(text: Optional[str]) -> Optional[str]:
    text = " ".join((text or "").split())
    return text or None


def _amount(text: Optional[str], name: str, problems: list[str]) -> Optional[Decimal]:
    text = (text or "").strip()
    if not text:
        return None
    try:
        amount = parse_amount(text)
    except AmountError:
        problems.append(f"{name}_unreadable")
        return None
    if amount < 0:
        problems.append(f"{name}_negative")
        return None
    return amount


def read_search(fields: Mapping[str, Optional[str]]) -> tuple[Optional[Search], list[str]]:
    """The search a form's fields ask for, or None and every problem found."""
    problems: list[str] = []
    skill, org = _term(fields.get("skill")), _term(fields.get("org"))
    if (skill and len(skill) > MAX_TERM) or (org and len(org) > MAX_TERM):
        problems.append("term_too_long")
    low = _amount(fields.get("min"), "min", problems)
    high = _amount(fields.get("max"), "max", problems)
    if low is not None and high is not None and low > high:
        problems.append("min_above_max")
    if problems:
        return None, problems
    return Search(skill=skill, org=org, min_value=low, max_value=high), []
