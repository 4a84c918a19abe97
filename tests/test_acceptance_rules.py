"""The acceptance gates as plain rules (bot.procurement.pull_requests)."""

from __future__ import annotations

from bot.procurement.pull_requests import AcceptanceFacts, Check, Review, approving_reviewers, failed_gates


def facts(**kw) -> AcceptanceFacts:
    values = dict(contractor="dev-bob", base_branch="main", default_branch="main", merged_by="pm-alice",
                  reviews=[Review("pm-alice", "APPROVED", True)], checks=[])
    values.update(kw)
    return AcceptanceFacts(**values)


def gates(f: AcceptanceFacts, **kw) -> list[str]:
    return [g.gate for g in failed_gates(f, **kw)]


def test_a_reviewed_merge_by_another_into_the_default_branch_with_no_checks_passes():
    assert gates(facts()) == []


def test_each_reviewers_latest_review_counts():
    reviews = [Review("pm-alice", "APPROVED", True), Review("PM-Alice", "COMMENTED", True), Review("pm-alice", "CHANGES_REQUESTED", True)]
    assert approving_reviewers(reviews, "dev-bob") == []
    assert approving_reviewers(reviews + [Review("pm-alice", "approved", True)], "dev-bob") == ["pm-alice"]
    assert approving_reviewers([Review("pm-alice", "APPROVED", True), Review("pm-alice", "DISMISSED", True)], "dev-bob") == []


def test_the_contractor_and_readers_do_not_approve():
    assert approving_reviewers([Review("dev-bob", "APPROVED", True), Review("rex", "APPROVED", False)], "dev-bob") == []


def test_every_gate():
    assert gates(facts(base_branch="release")) == ["wrong_branch"]
    assert gates(facts(base_branch="release"), branch="release") == []
    assert gates(facts(merged_by="Dev-Bob")) == ["merged_by_contractor"]
    assert gates(facts(merged_by=None)) == []  # before the merge: not known yet
    assert gates(facts(reviews=[])) == ["approvals_missing"]
    assert gates(facts(reviews=[]), approvals=0) == []
    assert gates(facts(), approvals=2) == ["approvals_missing"]
    failing = facts(checks=[Check("tests", "success"), Check("lint", "neutral"), Check("docs", "skipped"), Check("sec", "failure"), Check("ci", "pending")])
    [check] = failed_gates(failing)
    assert (check.gate, check.failing) == ("checks_failing", ("sec: failure", "ci: pending"))
    assert gates(failing, checks="none") == []
    assert gates(facts(checks=[Check("x", "cancelled")])) == ["checks_failing"]
