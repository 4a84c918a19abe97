"""The opportunity issue body: a rendered GitHub issue form, read into terms.

GitHub renders a submitted issue form as ``### Label`` lines, each followed
by the answer, ``_No response_`` for an empty one, and a fenced block for a
textarea declared with ``render:``. This module reads such a body (in
English or French headings, as typed by hand too) into an
:class:`OpportunityForm`, or lists every :class:`Problem` at once so that the
issuer can fix them all in one edit.

Only the known headings split the body into sections; any other heading is
part of the answer it sits in (a problem statement may well have its own
``### Background``). Nothing here raises on any body.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from bot.procurement.dates import DateError, parse_deadline
from bot.procurement.money import AmountError, format_amount, parse_amount
from bot.procurement import markdown

__all__ = [
    "DEFAULT_MILESTONE_NAME",
    "FORM_PROBLEM_CODES",
    "HEADINGS",
    "MilestoneSpec",
    "OpportunityForm",
    "Problem",
    "parse_opportunity_form",
    "render_opportunity_form",
]

#: The single milestone of an opportunity that lists none: the whole value.
DEFAULT_MILESTONE_NAME = "Complete"

#: Every ``Problem.code`` this module reports (``templates/`` covers each).
FORM_PROBLEM_CODES: tuple[str, ...] = (
    "section_duplicate",
    "missing_value",
    "value_unreadable",
    "value_too_precise",
    "value_not_positive",
    "value_over_cap",
    "missing_deadline",
    "deadline_unreadable",
    "deadline_needs_offset",
    "deadline_nonexistent",
    "deadline_ambiguous",
    "deadline_in_past",
    "missing_problem",
    "missing_acceptance",
    "milestone_unreadable",
    "milestone_not_positive",
    "milestone_duplicate_name",
    "milestones_do_not_add_up",
)

#: Section key -> (English heading, French heading), in the template's order.
HEADINGS: dict[str, tuple[str, str]] = {
    "value": ("Value", "Valeur"),
    "deadline": ("Proposal deadline", "Date limite"),
    "problem": ("Problem", "Problème"),
    "acceptance": ("Acceptance criteria", "Critères d'acceptation"),
    "milestones": ("Milestones", "Jalons"),
    "evaluation": ("Evaluation criteria", "Critères d'évaluation"),
    "skills": ("Skills", "Compétences"),
}

NO_RESPONSE = "_No response_"

MAX_QUOTED_CHARS = 100

# A heading line: two to four "#" (GitHub renders three; people retyping the
# form vary), the title, and optional closing "#"s as ATX headings allow.
HEADING_RE = re.compile(
    r"""
    ^\x20{0,3}
    \#{2,4}
    [\x20\t]+
    (?P<title>.*?)
    (?:[\x20\t]+\#+)?      # closing sequence: "### Value ###"
    [\x20\t]*$
    """,
    re.VERBOSE,
)

# A code fence (CommonMark): what GitHub wraps a render: textarea in.
FENCE_OPEN_RE = re.compile(
    r"""
    ^\x20{0,3}
    (?P<fence>`{3,}(?=[^`]*$)|~{3,})
    """,
    re.VERBOSE,
)

# A milestone line: a list item ("-", "*", "+", "1." or "1)") holding
# "NAME: AMOUNT". The name may hold colons ("Phase 1: build: $3,000"); an
# amount never does, so the split is on the last colon, done in code.
MILESTONE_ITEM_RE = re.compile(
    r"""
    ^\s*
    (?:[-*+]|[0-9]{1,9}[.)])
    \s+
    (?P<item>.*\S)
    \s*$
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Problem:
    """One reason the body is not a valid opportunity; the message is in templates/."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MilestoneSpec:
    """A named part of the work and what it pays."""

    name: str
    amount: Decimal


@dataclass(frozen=True)
class OpportunityForm:
    """The terms of an opportunity as its issue states them.

    ``deadline`` is aware, in UTC. Optional sections absent or ``_No
    response_`` are ``""``; ``milestones`` always adds up to ``value``.
    """

    value: Decimal
    deadline: datetime
    problem: str
    acceptance_criteria: str
    milestones: tuple[MilestoneSpec, ...]
    evaluation_criteria: str = ""
    skills: str = ""


def _quoted(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"


def _heading_key(title: str) -> str:
    """Casefold, drop accents, typographic apostrophes and a trailing colon."""
    decomposed = unicodedata.normalize("NFKD", title)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    plain = plain.replace("*", "").replace("_", " ").rstrip(" :")
    return " ".join(plain.casefold().split())


_SECTION_BY_HEADING: dict[str, str] = {
    _heading_key(title): key for key, titles in HEADINGS.items() for title in titles
}


def _sections(lines: list[str]) -> tuple[dict[str, list[str]], list[Problem]]:
    """Split the body at known headings that are not inside a code fence."""
    sections: dict[str, list[str]] = {}
    problems: list[Problem] = []
    current: list[str] | None = None  # None before the first known heading
    fence: str | None = None
    for line in lines:
        if fence is not None:
            if markdown.closes_fence(line, fence):
                fence = None
        else:
            opening = FENCE_OPEN_RE.match(line)
            if opening:
                fence = opening["fence"]
            else:
                heading = HEADING_RE.match(line)
                key = _SECTION_BY_HEADING.get(_heading_key(heading["title"])) if heading else None
                if key is not None:
                    if key in sections:
                        # Which answer counts would be a guess: say so, and
                        # set the repeated section's text aside.
                        problems.append(Problem("section_duplicate", {"section": key}))
                        current = []
                    else:
                        current = sections[key] = []
                    continue
        if current is not None:
            current.append(line)
    return sections, problems


def _answer(lines: list[str]) -> str:
    """The section's text: blank edges and ``_No response_`` removed, a lone
    fenced block (a ``render:`` textarea) unwrapped."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    kept = [line.rstrip() for line in lines[start:end]]
    if len(kept) >= 2:
        opening = FENCE_OPEN_RE.match(kept[0])
        if opening and markdown.closes_fence(kept[-1], opening["fence"]) and not any(
            markdown.closes_fence(line, opening["fence"]) for line in kept[1:-1]
        ):
            return _answer(kept[1:-1])
    text = "\n".join(kept)
    return "" if text.strip() == NO_RESPONSE else text


def _read_value(text: str, value_cap: Decimal, problems: list[Problem]) -> Decimal | None:
    if not text:
        problems.append(Problem("missing_value"))
        return None
    try:
        value = parse_amount(text.strip("` \t"))
    except AmountError as error:
        code = "value_too_precise" if error.code == "amount_too_precise" else "value_unreadable"
        problems.append(Problem(code, {"text": _quoted(text)}))
        return None
    if value <= 0:
        problems.append(Problem("value_not_positive", {"value": value}))
        return None
    if value > value_cap:
        problems.append(Problem("value_over_cap", {"value": value, "cap": value_cap}))
        return None
    return value


def _read_deadline(
    text: str, tz: str | tzinfo, deadline_time: time, now: datetime, problems: list[Problem]
) -> datetime | None:
    if not text:
        problems.append(Problem("missing_deadline"))
        return None
    try:
        deadline = parse_deadline(text, tz, deadline_time)
    except DateError as error:
        code = {
            "datetime_needs_offset": "deadline_needs_offset",
            "local_time_nonexistent": "deadline_nonexistent",
            "local_time_ambiguous": "deadline_ambiguous",
        }.get(error.code, "deadline_unreadable")
        problems.append(Problem(code, {"text": _quoted(text), **error.params}))
        return None
    if deadline <= now:
        problems.append(Problem("deadline_in_past", {"deadline": deadline, "now": now}))
        return None
    return deadline


def _read_milestones(text: str, problems: list[Problem]) -> list[MilestoneSpec] | None:
    """The listed milestones, [] when none are listed, None when any is wrong."""
    milestones: list[MilestoneSpec] = []
    seen: set[str] = set()
    valid = True
    for line in text.split("\n"):
        if not line.strip():
            continue
        item = MILESTONE_ITEM_RE.match(line)
        name, colon, amount_text = item["item"].rpartition(":") if item else ("", "", "")
        name = name.strip()
        if not colon or not name:
            problems.append(Problem("milestone_unreadable", {"line": _quoted(line)}))
            valid = False
            continue
        try:
            amount = parse_amount(amount_text.strip("` \t"))
        except AmountError:
            problems.append(Problem("milestone_unreadable", {"line": _quoted(line)}))
            valid = False
            continue
        if amount <= 0:
            problems.append(Problem("milestone_not_positive", {"name": _quoted(name), "amount": amount}))
            valid = False
        folded = " ".join(name.casefold().split())
        if folded in seen:
            problems.append(Problem("milestone_duplicate_name", {"name": _quoted(name)}))
            valid = False
        seen.add(folded)
        milestones.append(MilestoneSpec(name=name, amount=amount))
    return milestones if valid else None


def parse_opportunity_form(
    body: str | None,
    *,
    value_cap: Decimal,
    tz: str | tzinfo,
    deadline_time: time,
    now: datetime,
) -> tuple[OpportunityForm | None, list[Problem]]:
    """Read an opportunity issue body: ``(form, [])`` or ``(None, every problem)``.

    ``now`` (aware) is when the body is being validated: the deadline must
    be after it. ``value_cap`` is the repository's cap. Never raises on any
    ``body``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    sections, problems = _sections(markdown.lines(body if isinstance(body, str) else ""))
    answers = {key: _answer(lines) for key, lines in sections.items()}

    value = _read_value(answers.get("value", ""), value_cap, problems)
    deadline = _read_deadline(answers.get("deadline", ""), tz, deadline_time, now, problems)
    problem = answers.get("problem", "")
    if not problem:
        problems.append(Problem("missing_problem"))
    acceptance = answers.get("acceptance", "")
    if not acceptance:
        problems.append(Problem("missing_acceptance"))
    milestones = _read_milestones(answers.get("milestones", ""), problems)
    if value is not None and milestones:
        total = sum((m.amount for m in milestones), Decimal("0.00"))
        if total != value:
            problems.append(Problem("milestones_do_not_add_up", {"total": total, "value": value}))

    if problems or value is None or deadline is None or milestones is None:
        return None, problems
    return OpportunityForm(
        value=value,
        deadline=deadline,
        problem=problem,
        acceptance_criteria=acceptance,
        milestones=tuple(milestones) or (MilestoneSpec(DEFAULT_MILESTONE_NAME, value),),
        evaluation_criteria=answers.get("evaluation", ""),
        skills=answers.get("skills", ""),
    ), []


def render_opportunity_form(form: OpportunityForm, lang: str = "en") -> str:
    """The body GitHub would render for ``form`` submitted in ``lang``'s template.

    The deadline is written as a UTC date-time (``2026-12-01T19:00:00Z``) so
    that it reads back to the same instant whatever the repository's zone.
    """
    french = lang.strip().lower().startswith("fr")
    deadline = form.deadline.astimezone(UTC).isoformat().replace("+00:00", "Z")
    milestones = "\n".join(
        f"- {m.name}: {format_amount(m.amount, lang)}" for m in form.milestones
    )
    answers = {
        "value": format_amount(form.value, lang),
        "deadline": deadline,
        "problem": form.problem,
        "acceptance": form.acceptance_criteria,
        "milestones": milestones,
        "evaluation": form.evaluation_criteria,
        "skills": form.skills,
    }
    parts = [
        f"### {HEADINGS[key][1 if french else 0]}\n\n{answers[key] or NO_RESPONSE}"
        for key in HEADINGS
    ]
    return "\n\n".join(parts) + "\n"

