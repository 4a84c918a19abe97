"""The authorization matrix: every privileged command, tried by every role.

Allowed exactly where PRODUCT.md "People" says, refused elsewhere with a reason
that names the author, and every refusal recorded in the audit trail. A bot's
comment is not a command at all. A permission removed between two commands
counts at once.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.tables import AuditEvent, Delivery
from tests.conftest import REPO
from tests.evaluation_flows import close_bidding, comment_on, labelled
from tests.flows import last_reply

CONFIG = "evaluators: [eval-erin]\ncontract_officers: [officer-olga, '@octo-org/procurement-officers']\n"
BIDS = {"bob": ("8,000.00", "Bob's plan."), "carol": ("7,500.00", "Carol's plan.")}

# Who plays each role (`bob` is a bidder; once the award is approved he is the contractor).
ROLES = {
    "anyone": "visitor-vic",
    "bidder": "carol",
    "contractor": "bob",
    "issuer": "pm-alice",
    "evaluator": "eval-erin",
    "contract officer": "officer-olga",
}

# PRODUCT.md "People": who may use each privileged command.
ALLOWED = {
    "extend": {"issuer"},
    "cancel": {"issuer"},
    "score": {"issuer", "evaluator"},
    "award": {"issuer", "evaluator"},
    "approve": {"contract officer"},
    "reject": {"contract officer"},
    "paid": {"contract officer"},
    "terminate": {"contract officer"},
}

COMMANDS = {
    "extend": "/extend 2026-12-30",
    "cancel": "/cancel the need went away",
    "score": "/score @bob 80 solid",
    "award": "/award @bob best value",
    "approve": "/approve",
    "reject": "/reject not enough detail",
    "paid": "/paid 1 EFT-77",
    "terminate": "/terminate the team was dissolved",
}


def opened(harness) -> int:
    harness.sim.repositories[REPO]["files"][".github/devex.yml"] = CONFIG
    from tests.flows import open_opportunity, register, bid

    number = open_opportunity(harness)
    register(harness, number, *BIDS)
    for login, (amount, text) in BIDS.items():
        bid(harness, number, login, amount, text)
    return number


def in_evaluation(harness) -> int:
    return close_bidding(harness, bids=BIDS, config=CONFIG)


def under_review(harness) -> tuple[int, int]:
    number = in_evaluation(harness)
    harness.comment(number, "eval-erin", "/score @bob 90\n/score @carol 70")
    harness.comment(number, "eval-erin", "/award @bob")
    review = labelled(harness.sim, "devex:award-review")[-1]["number"]
    return number, review


def awarded(harness, with_payment: bool = False) -> int:
    number, review = under_review(harness)
    comment_on(harness, REPO, review, "officer-olga", "/approve")
    if with_payment:
        sim = harness.sim
        event = sim.human_open_pull_request(REPO, "Design", f"Closes #{number}\nMilestone: 1", "bob")
        pr = event[1]["pull_request"]["number"]
        harness.act(event)
        harness.run()
        sim.add_review(REPO, pr, "pm-alice", "APPROVED")  # acceptance: a writer who is not the contractor
        harness.act(sim.human_merge_pull_request(REPO, pr, "pm-alice"))
        harness.run()
    return number


def scenario(harness, command: str) -> int:
    """The issue where `command` can be carried out, in the state it needs."""
    if command in ("extend", "cancel"):
        return opened(harness)
    if command in ("score", "award"):
        return in_evaluation(harness)
    if command in ("approve", "reject"):
        return under_review(harness)[1]
    return awarded(harness, with_payment=command == "paid")


def refused_by(harness, login: str, command: str) -> bool:
    with Session(harness.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.kind == "command_refused", AuditEvent.actor == login)).all()
    return any(f'"command": "{command}"' in row.detail for row in rows)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_privileged_command_is_allowed_exactly_to_its_roles(harness, sim, command):
    sim.add_team_member("octo-org", "procurement-officers", "officer-omar")
    number = scenario(harness, command)
    allowed = ALLOWED[command]
    # The refused first (they change nothing), then one allowed role.
    order = [r for r in ROLES if r not in allowed] + [sorted(allowed)[0]]
    for role in order:
        login = ROLES[role]
        comment_on(harness, REPO, number, login, COMMANDS[command])
        reply = last_reply(harness, number)
        assert reply.startswith(f"@{login}"), (command, role)
        if role in allowed:
            assert "was not carried out" not in reply, (command, role, reply)
            assert not refused_by(harness, login, command)
        else:
            assert "was not carried out" in reply, (command, role)
            assert refused_by(harness, login, command), (command, role)


def test_a_bot_comment_is_never_a_command(harness, sim):
    number = opened(harness)
    before = len(harness.bot_comments(number))
    comment_on(harness, REPO, number, "ci-helper[bot]", "/cancel done by automation")
    assert len(harness.bot_comments(number)) == before
    assert "devex:open" in harness.labels(number)
    with Session(harness.engine) as session:
        stored = session.exec(select(Delivery).where(Delivery.event == "issue_comment")).all()
    assert all('"ci-helper[bot]"' not in d.payload for d in stored)


def test_an_issuer_whose_permission_is_removed_is_refused_at_once(harness, sim):
    number = opened(harness)
    harness.comment(number, "pm-alice", "/extend 2026-12-01")
    assert "**Deadline extended**" in last_reply(harness, number)
    sim.set_permission(REPO, "pm-alice", "read")
    harness.comment(number, "pm-alice", "/cancel changed my mind")
    assert "Only the opportunity's issuers" in last_reply(harness, number)
    assert refused_by(harness, "pm-alice", "cancel")
    assert "devex:open" in harness.labels(number)


def test_a_contract_officer_removed_from_the_team_is_refused_at_once(harness, sim):
    sim.add_team_member("octo-org", "procurement-officers", "officer-omar")
    number = awarded(harness, with_payment=True)
    harness.comment(number, "officer-omar", "/paid 1 EFT-1")
    assert "was not carried out" not in last_reply(harness, number)
    sim.teams[("octo-org", "procurement-officers")].discard("officer-omar")
    harness.comment(number, "officer-omar", "/terminate no longer needed")
    assert "was not carried out" in last_reply(harness, number)
    assert refused_by(harness, "officer-omar", "terminate")


def test_an_issuer_may_award_too(harness, sim):
    number = in_evaluation(harness)
    harness.comment(number, "pm-alice", "/award @carol")
    assert "was not carried out" not in last_reply(harness, number)
