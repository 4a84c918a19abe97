"""Pay on pull's rules with plain values: references, milestones, the pay decision, reverts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.procurement import pull_requests as rules
from bot.procurement.pull_requests import ContractFacts, IssueReference, MilestoneFacts

REPO = "octo-org/procurement"


def refs(body: str) -> list[tuple[str, int]]:
    return [(r.repository, r.number) for r in rules.named_issues(body, REPO)]


# ---------------------------------------------------------------- which opportunity


@pytest.mark.parametrize(
    "keyword",
    ["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved", "CLOSES", "Fixes", "rEsOlVeD"],
)
def test_every_closing_keyword_in_any_case(keyword):
    assert refs(f"{keyword} #12") == [(REPO, 12)]


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Closes #12", [(REPO, 12)]),
        ("Fixes octo-org/procurement#12", [(REPO, 12)]),
        ("Fixes other-org/tracker#7", [("other-org/tracker", 7)]),
        ("Resolves https://github.com/octo-org/procurement/issues/12", [(REPO, 12)]),
        ("Resolves https://ghe.example.gc.ca/octo-org/procurement/issues/12", [(REPO, 12)]),
        ("Fixes: #12", [(REPO, 12)]),
        ("This PR closes #12.", [(REPO, 12)]),
        ("Opportunity: #12", [(REPO, 12)]),
        ("opportunity: octo-org/procurement#12", [(REPO, 12)]),
        ("**Opportunity:** #12", [(REPO, 12)]),
        ("Occasion : #12", [(REPO, 12)]),
        ("Opportunity: https://github.com/octo-org/procurement/issues/12", [(REPO, 12)]),
        ("Closes #12\nFixes #12", [(REPO, 12)]),
        ("Fixes #3, closes #12", [(REPO, 3), (REPO, 12)]),
        ("Opportunity: #12\nFixes #3", [(REPO, 12), (REPO, 3)]),
    ],
)
def test_references(body, expected):
    assert refs(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "See #12",
        "Related to #12",
        "Closes the loop on #12",  # the issue must follow the keyword
        "fixed-price work for #12",
        "prefixes #12",
        "Closes #12abc",
        "Closes https://github.com/octo-org/procurement/pull/12",  # a pull request, not an issue
        "```\nCloses #12\n```",
        "<!-- Closes #12 -->",
        "`Closes #12`",
        "The Opportunity: #12 was great",  # not a line of its own
    ],
)
def test_text_that_names_no_opportunity(body):
    assert refs(body) == []


def test_none_body():
    assert rules.named_issues(None, REPO) == []


# ---------------------------------------------------------------- which milestone


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Closes #12\nMilestone: 2", "2"),
        ("Closes #12\nmilestone:Build", "Build"),
        ("Closes #12\n- **Milestone:** Build the cache  ", "Build the cache"),
        ("Closes #12\nJalon : 1", "1"),
        ("Closes #12", None),
        ("Closes #12\n```\nMilestone: 2\n```", None),
    ],
)
def test_named_milestone(body, expected):
    assert rules.named_milestone(body) == expected


def ms(*rows) -> list[MilestoneFacts]:
    return [MilestoneFacts(i + 1, name, Decimal(amount), status, paid) for i, (name, amount, status, paid) in enumerate(rows)]


TWO = ms(("Design", "4263.16", "open", False), ("Build the cache", "4736.84", "open", False))
FIRST_DONE = ms(("Design", "4263.16", "accepted", True), ("Build the cache", "4736.84", "open", False))


@pytest.mark.parametrize(
    "milestones, wanted, position, reason",
    [
        (TWO, None, 1, None),
        (FIRST_DONE, None, 2, None),
        (TWO, "2", 2, None),
        (TWO, "#2", 2, None),
        (TWO, "build  THE cache", 2, None),
        (TWO, "3", None, rules.NO_SUCH_MILESTONE),
        (TWO, "Deploy", None, rules.NO_SUCH_MILESTONE),
        (FIRST_DONE, "1", 1, rules.MILESTONE_PAID),
        (FIRST_DONE, "design", 1, rules.MILESTONE_PAID),
        (ms(("Design", "1", "accepted", True), ("Build", "1", "accepted", True)), None, None, rules.ALL_PAID),
        (ms(("Design", "1", "accepted", True), ("Build", "1", "void", False)), "2", 2, rules.MILESTONE_VOID),
    ],
)
def test_pick_milestone(milestones, wanted, position, reason):
    chosen, why = rules.pick_milestone(milestones, wanted)
    assert why == reason
    assert (chosen.position if chosen else None) == position


def test_a_name_that_is_a_number_is_found_by_name_when_no_position_matches():
    milestones = ms(("Design", "1", "open", False), ("2027", "1", "open", False))
    chosen, why = rules.pick_milestone(milestones, "2027")
    assert why is None and chosen.position == 2


# ---------------------------------------------------------------- the pay decision


def contract(state="awarded", contractor="dev-bob", value="9000.00", committed="0.00", milestones=TWO) -> ContractFacts:
    return ContractFacts(state, contractor, Decimal(value) if value else None, Decimal(committed), milestones)


def test_the_contractor_earns_the_first_unpaid_milestone_at_its_contract_share():
    decision = rules.decide("Dev-Bob", contract(), None)
    assert decision.pays and decision.reason is None
    assert decision.milestone.position == 1
    assert decision.amount == Decimal("4263.16")


@pytest.mark.parametrize(
    "author, facts, wanted, reason",
    [
        ("mallory", contract(), None, rules.NOT_CONTRACTOR),
        ("dev-bob", contract(state="open", contractor=None, value=None), None, rules.NO_CONTRACT),
        ("dev-bob", contract(state="review", contractor=None, value=None), None, rules.NO_CONTRACT),
        ("dev-bob", contract(state="cancelled", contractor=None, value=None), None, rules.NO_CONTRACT),
        ("dev-bob", contract(state="terminated"), None, rules.TERMINATED),
        ("mallory", contract(state="terminated"), None, rules.TERMINATED),
        ("dev-bob", contract(state="completed"), None, rules.COMPLETED),
        ("dev-bob", contract(milestones=FIRST_DONE, committed="4263.16"), "1", rules.MILESTONE_PAID),
        ("dev-bob", contract(), "Deploy", rules.NO_SUCH_MILESTONE),
        ("dev-bob", contract(committed="5000.00"), None, rules.OVER_CONTRACT),
    ],
)
def test_why_a_merge_pays_nothing(author, facts, wanted, reason):
    decision = rules.decide(author, facts, wanted)
    assert not decision.pays
    assert decision.reason == reason
    assert decision.reason in rules.REASONS


def test_a_contract_paid_up_to_its_value_exactly_still_pays_the_last_cent():
    decision = rules.decide("dev-bob", contract(milestones=FIRST_DONE, committed="4263.16"), None)
    assert decision.pays and decision.amount == Decimal("4736.84")


def test_completes_contract():
    assert not rules.completes_contract(TWO, 1)
    assert rules.completes_contract(FIRST_DONE, 2)
    assert rules.completes_contract(ms(("Only", "1", "open", False)), 1)


def test_days_late():
    due = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)
    assert rules.days_late(due, due + timedelta(hours=3)) == 0
    assert rules.days_late(due, due + timedelta(days=1, minutes=1)) == 1
    assert rules.days_late(due, due + timedelta(days=9, hours=23)) == 9


# ---------------------------------------------------------------- reverts


def test_githubs_revert_pull_request_names_the_reverted_one():
    # GitHub's button: title `Revert "Cache the dependencies"`, body as below.
    assert rules.reverted_pull_request("Reverts octo-org/procurement#7") == IssueReference(REPO, 7)
    # A retitled revert, with an explanation added, is still one.
    assert rules.reverted_pull_request("Reverts octo-org/procurement#7\n\nIt broke main.") == IssueReference(REPO, 7)


@pytest.mark.parametrize("body", [None, "", "Reverts #7", "This reverts octo-org/procurement#7", "```\nReverts octo-org/procurement#7\n```"])
def test_not_a_revert(body):
    assert rules.reverted_pull_request(body) is None
