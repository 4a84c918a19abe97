"""Reading the opportunity issue body (bot.procurement.form)."""

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.procurement.form import (
    DEFAULT_MILESTONE_NAME,
    FORM_PROBLEM_CODES,
    MilestoneSpec,
    OpportunityForm,
    Problem,
    parse_opportunity_form,
    render_opportunity_form,
)

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
CAP = Decimal("9999.00")
NBSP = "\u00a0"


def parse(body: str | None, *, cap: Decimal = CAP, now: datetime = NOW, deadline_time: time = time(14, 0)):
    return parse_opportunity_form(
        body, value_cap=cap, tz="America/Toronto", deadline_time=deadline_time, now=now
    )


def codes(body: str | None, **kwargs) -> list[str]:
    form, problems = parse(body, **kwargs)
    assert form is None
    return [problem.code for problem in problems]


def body_of(**sections: str) -> str:
    """A body as GitHub renders the form; sections default to a valid one."""
    answers = {
        "Value": "9,500.00",
        "Proposal deadline": "2026-12-01",
        "Problem": "Our form times out on large uploads.",
        "Acceptance criteria": "Uploads of 100 MB succeed; tests pass.",
        "Milestones": "_No response_",
        "Evaluation criteria": "_No response_",
        "Skills": "_No response_",
    }
    answers.update({key.replace("_", " "): value for key, value in sections.items()})
    return "\n\n".join(f"### {heading}\n\n{answer}" for heading, answer in answers.items() if answer is not None)


GITHUB_RENDERED = """### Value

9,500.00

### Proposal deadline

2026-12-01

### Problem

Our form times out on large uploads.

Steps:
1. Open the form

### Acceptance criteria

- Uploads of 100 MB succeed
- Tests pass

### Milestones

- Design: 1,500.00
- Build: $8,000

### Evaluation criteria

_No response_

### Skills

Python, Starlette
"""


def test_a_body_as_github_renders_it() -> None:
    form, problems = parse(GITHUB_RENDERED)
    assert problems == []
    assert form == OpportunityForm(
        value=Decimal("9500.00"),
        deadline=datetime(2026, 12, 1, 19, 0, tzinfo=UTC),
        problem="Our form times out on large uploads.\n\nSteps:\n1. Open the form",
        acceptance_criteria="- Uploads of 100 MB succeed\n- Tests pass",
        milestones=(MilestoneSpec("Design", Decimal("1500.00")), MilestoneSpec("Build", Decimal("8000.00"))),
        evaluation_criteria="",
        skills="Python, Starlette",
    )


def test_french_headings_accents_and_apostrophes() -> None:
    body = (
        "## Valeur\n\n9 500,00 $\n\n"
        "#### DATE LIMITE\n\n2026-12-01T14:00:00-05:00\n\n"
        "### Probleme\n\nLe formulaire expire.\n\n"
        "### Criteres d\u2019acceptation\n\nLes téléversements réussissent.\n\n"
        "### Jalons\n\n- Conception : 4 500,00 $\n* Réalisation: 5 000 $\n\n"
        "### Critères d'évaluation\n\nPrix et qualité\n\n"
        "### Compétences\n\nPython\n"
    )
    form, problems = parse(body)
    assert problems == []
    assert form is not None
    assert form.value == Decimal("9500.00")
    assert form.deadline == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert form.acceptance_criteria == "Les téléversements réussissent."
    assert form.milestones == (
        MilestoneSpec("Conception", Decimal("4500.00")),
        MilestoneSpec("Réalisation", Decimal("5000.00")),
    )
    assert (form.evaluation_criteria, form.skills) == ("Prix et qualité", "Python")


def test_headings_ignore_case_trailing_hashes_and_colon() -> None:
    body = body_of().replace("### Value", "### VALUE ###").replace("### Skills", "### skills:")
    form, problems = parse(body.replace("Skills\n\n_No response_", "skills:\n\nGo"))
    assert problems == [] and form is not None


def test_a_render_textarea_is_unwrapped() -> None:
    form, problems = parse(body_of(Milestones="```text\n- Design: 1,500.00\n- Build: 8,000.00\n```"))
    assert problems == []
    assert form is not None and [m.name for m in form.milestones] == ["Design", "Build"]


def test_headings_inside_a_fence_and_unknown_headings_are_text() -> None:
    problem = "Intro\n\n### Background\n\nDetails\n\n```md\n### Value\n1\n```"
    form, problems = parse(body_of(Problem=problem))
    assert problems == []
    assert form is not None and form.problem == problem


def test_crlf_bodies() -> None:
    form, problems = parse(GITHUB_RENDERED.replace("\n", "\r\n"))
    assert problems == [] and form is not None and form.skills == "Python, Starlette"


def test_default_milestone_is_the_whole_value() -> None:
    form, _ = parse(body_of())
    assert form is not None
    assert form.milestones == (MilestoneSpec(DEFAULT_MILESTONE_NAME, Decimal("9500.00")),)


@pytest.mark.parametrize(
    ("milestones", "expected"),
    [
        ("- Design: 4 500,00 $\n- Build: 5 000,00 $", [("Design", "4500"), ("Build", "5000")]),
        ("- Phase 1: build: $3,000\n- Phase 2: $6,500", [("Phase 1: build", "3000"), ("Phase 2", "6500")]),
        ("1. One: 9000\n2) Two: 500", [("One", "9000"), ("Two", "500")]),
        ("+ All: `9500`", [("All", "9500")]),
        (f"- Conception{NBSP}: 9{NBSP}500,00{NBSP}$", [("Conception", "9500")]),
        ("\n- A: 9499.99\n\n- B: 0.01\n", [("A", "9499.99"), ("B", "0.01")]),
    ],
)
def test_milestone_lines(milestones: str, expected: list[tuple[str, str]]) -> None:
    form, problems = parse(body_of(Milestones=milestones))
    assert problems == []
    assert form is not None
    assert [(m.name, m.amount) for m in form.milestones] == [(n, Decimal(a)) for n, a in expected]


def test_every_problem_at_once() -> None:
    body = body_of(
        Value="$10,000",
        Proposal_deadline="2026-09-01",
        Problem="_No response_",
        Acceptance_criteria="",
        Milestones="- A: 10\n- a: -1\nsee attached\n- B: lots",
    )
    form, problems = parse(body)
    assert form is None
    assert problems == [
        Problem("value_over_cap", {"value": Decimal("10000.00"), "cap": CAP}),
        Problem("deadline_in_past", {"deadline": datetime(2026, 9, 1, 18, 0, tzinfo=UTC), "now": NOW}),
        Problem("missing_problem"),
        Problem("missing_acceptance"),
        Problem("milestone_not_positive", {"name": "a", "amount": Decimal("-1.00")}),
        Problem("milestone_duplicate_name", {"name": "a"}),
        Problem("milestone_unreadable", {"line": "see attached"}),
        Problem("milestone_unreadable", {"line": "- B: lots"}),
    ]


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        ("_No response_", "missing_value", {}),
        ("a lot", "value_unreadable", {"text": "a lot"}),
        ("9500.001", "value_too_precise", {"text": "9500.001"}),
        ("0", "value_not_positive", {"value": Decimal("0.00")}),
        ("-5", "value_not_positive", {"value": Decimal("-5.00")}),
        ("5001", "value_over_cap", {"value": Decimal("5001.00"), "cap": Decimal("5000.00")}),
    ],
)
def test_value_problems(value: str, code: str, params: dict) -> None:
    _, problems = parse(body_of(Value=value), cap=Decimal("5000.00"))
    assert problems == [Problem(code, params)]


def test_value_at_the_cap_is_allowed() -> None:
    form, problems = parse(body_of(Value="$5,000.00"), cap=Decimal("5000.00"))
    assert problems == [] and form is not None


@pytest.mark.parametrize(
    ("deadline", "code"),
    [
        ("_No response_", "missing_deadline"),
        ("next Friday", "deadline_unreadable"),
        ("2026-12-01T14:00", "deadline_needs_offset"),
        ("2026-10-01T12:00Z", "deadline_in_past"),  # exactly now is not in the future
    ],
)
def test_deadline_problems(deadline: str, code: str) -> None:
    assert codes(body_of(Proposal_deadline=deadline)) == [code]


def test_milestones_must_add_up_to_the_value() -> None:
    _, problems = parse(body_of(Milestones="- A: 4,000\n- B: 5,000"))
    assert problems == [Problem("milestones_do_not_add_up", {"total": Decimal("9000.00"), "value": Decimal("9500.00")})]


def test_a_heading_given_twice_is_a_problem() -> None:
    assert codes(body_of() + "\n\n### Value\n\n100") == ["section_duplicate"]


@pytest.mark.parametrize("body", [None, "", "Just some text", "### Unknown\n\nx"])
def test_empty_or_unrelated_bodies_list_the_required_sections(body: str | None) -> None:
    assert codes(body) == ["missing_value", "missing_deadline", "missing_problem", "missing_acceptance"]


def test_every_problem_code_is_declared() -> None:
    seen = set()
    for body in [
        None,
        body_of() + "\n### Value\n1",
        body_of(Value="x"), body_of(Value="1.001"), body_of(Value="0"), body_of(Value="99999"),
        body_of(Proposal_deadline="x"), body_of(Proposal_deadline="2026-12-01T10:00"),
        body_of(Proposal_deadline="2020-01-01"),
        body_of(Milestones="x\n- a: 0\n- A: 1"), body_of(Milestones="- a: 1"),
    ]:
        seen.update(codes(body))
    # A deadline time that daylight saving time skips or repeats on that day.
    seen.update(codes(body_of(Proposal_deadline="2027-03-14"), deadline_time=time(2, 30)))
    seen.update(codes(body_of(Proposal_deadline="2027-11-07"), deadline_time=time(1, 30)))
    assert seen == set(FORM_PROBLEM_CODES)


def test_a_deadline_time_daylight_saving_skips_or_repeats_is_refused_naming_the_day_and_zone() -> None:
    _, [skipped] = parse(body_of(Proposal_deadline="2027-03-14"), deadline_time=time(2, 30))
    assert (skipped.code, skipped.params["day"], skipped.params["time"], skipped.params["zone"]) == (
        "deadline_nonexistent", "2027-03-14", "02:30", "America/Toronto"
    )
    _, [repeated] = parse(body_of(Proposal_deadline="2027-11-07"), deadline_time=time(1, 30))
    assert repeated.code == "deadline_ambiguous"


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_opportunity_form("", value_cap=CAP, tz="UTC", deadline_time=time(14), now=datetime(2026, 1, 1))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_render_then_parse_round_trips(lang: str) -> None:
    form, _ = parse(GITHUB_RENDERED)
    assert form is not None
    rendered = render_opportunity_form(form, lang)
    assert rendered.startswith("### Value\n\n$9,500.00" if lang == "en" else "### Valeur\n\n9\u00a0500,00\u00a0$")
    assert "_No response_" in rendered
    assert parse(rendered) == (form, [])


# --- properties -------------------------------------------------------------------

TEXT_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="#`~\x85"),
    min_size=1,
    max_size=30,
).map(str.strip).filter(lambda s: s and s != "_No response_")
TEXT = st.lists(TEXT_LINE, min_size=1, max_size=4).map("\n".join)
NAMES = st.from_regex(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9 :'-]{0,20}[A-Za-z0-9]", fullmatch=True)


@st.composite
def forms(draw: st.DrawFn) -> OpportunityForm:
    amounts = draw(st.lists(st.integers(1, 249_975), min_size=1, max_size=4))  # four at most add up to the cap
    names = draw(st.lists(NAMES, min_size=len(amounts), max_size=len(amounts), unique_by=lambda s: " ".join(s.casefold().split())))
    milestones = tuple(MilestoneSpec(n, Decimal(a).scaleb(-2)) for n, a in zip(names, amounts))
    deadline = draw(st.datetimes(min_value=datetime(2026, 10, 2), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)))
    return OpportunityForm(
        value=sum((m.amount for m in milestones), Decimal("0.00")),
        deadline=deadline,
        problem=draw(TEXT),
        acceptance_criteria=draw(TEXT),
        milestones=milestones,
        evaluation_criteria=draw(st.one_of(st.just(""), TEXT)),
        skills=draw(st.one_of(st.just(""), TEXT)),
    )


@settings(max_examples=200, deadline=None)
@given(form=forms(), lang=st.sampled_from(["en", "fr"]))
def test_render_then_parse_round_trips_for_any_form(form: OpportunityForm, lang: str) -> None:
    assert parse(render_opportunity_form(form, lang)) == (form, [])


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(
    st.none(),
    st.text(),
    st.lists(st.sampled_from([
        "### Value", "### Valeur", "## Milestones", "### Proposal deadline", "```", "~~~", "_No response_",
        "- A: 1", "- A: 9 500,00 $", "9500", "2026-12-01", "2026-12-01T10:00", "### Problem", "x", "",
    ]), max_size=20).map("\n".join),
))
def test_parse_never_raises(body: str | None) -> None:
    form, problems = parse(body)
    assert (form is None) == bool(problems)
    assert all(problem.code in FORM_PROBLEM_CODES for problem in problems)
