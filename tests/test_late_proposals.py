"""A recovered bid counts by the time its comment was written (PRODUCT.md "Missed
deliveries"): written before the deadline, it joins the evaluation even when bidding
closed meanwhile, and the evaluators are told; a sealed one is removed at once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from storage.tables import Proposal
from tests.conftest import REPO
from tests.flows import english, form_body, french
from tests.recovery_flows import audit_kinds, hooks, recover, recovery, run  # noqa: F401


DEADLINE = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)  # the form's 2026-11-20, 14:00 Toronto


def _opportunity_with_a_bid(harness, hooks, sim) -> int:
    number = sim.open_issue(REPO, "Speed up the tests", form_body(), "pm-alice")["number"]
    hooks.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    for login in ("bidder-bob", "bidder-carol"):
        hooks.act(sim.human_comment(REPO, number, login, "/register"))
    hooks.act(sim.human_comment(REPO, number, "bidder-bob", "/bid 8,000.00\nBob's plan."))
    run(harness, hooks)
    return number


def _late_bid(harness, hooks, sim, number: int) -> int:
    """Carol bids an hour before the deadline while the app is down; the deadline passes."""
    harness.clock.now = DEADLINE - timedelta(hours=1)
    hooks.down = True
    event, data = sim.human_comment(REPO, number, "bidder-carol", "/bid 7,500.00\nCarol's plan, written in time.")
    hooks.deliver(event, data)
    harness.clock.now = DEADLINE + timedelta(hours=2)
    hooks.down = False
    return data["comment"]["id"]


def _evaluation_issue(sim, number: int) -> dict:
    from tests.evaluation_flows import bot_issues

    [issue] = bot_issues(sim)
    return issue


def test_a_recovered_bid_written_before_the_deadline_joins_the_evaluation_and_the_evaluators_are_told(harness, hooks, sim):
    number = _opportunity_with_a_bid(harness, hooks, sim)
    comment_id = _late_bid(harness, hooks, sim, number)
    # The app starts: the deadline closes bidding (the evaluation issue opens with Bob's
    # proposal), then Carol's bid comes back.
    run(harness, hooks)
    evaluation = _evaluation_issue(sim, number)
    assert "Bob's plan." in evaluation["body"] and "Carol" not in evaluation["body"]
    recover(harness, hooks)

    with Session(harness.engine) as session:
        carol = session.exec(select(Proposal).where(Proposal.bidder == "bidder-carol")).one()
    assert carol.submitted_at == DEADLINE - timedelta(hours=1) and carol.status == "live"
    assert comment_id not in {c["id"] for c in harness.thread(number)}  # sealed: removed at once
    receipt = english(harness.bot_comments(number)[-1])
    assert "@bidder-carol" in receipt and "Proposal received" in receipt and "joined the evaluation" in receipt
    assert "a rejoint l'évaluation" in french(harness.bot_comments(number)[-1]) or "jointe à l'évaluation" in french(harness.bot_comments(number)[-1])

    [notice] = [c["body"] for c in sim.issue_comments(REPO, evaluation["number"]) if "arrived late" in c["body"]]
    assert "bidder-carol" in english(notice) and "counts by the time it was written" in english(notice)
    assert "Une proposition écrite avant la date limite est arrivée en retard" in notice
    assert "Carol's plan, written in time." in notice and carol.sha256 in notice
    assert audit_kinds(harness.engine, "late_proposal_joined")


def test_a_late_bid_arriving_before_the_evaluation_issue_is_written_is_in_its_body(harness, hooks, sim):
    number = _opportunity_with_a_bid(harness, hooks, sim)
    _late_bid(harness, hooks, sim, number)
    harness.runtime.scheduler.run_once()
    harness.runtime.worker.drain()  # bidding closed; the issue is not written yet
    recovery(harness).run_once()
    hooks.flush()
    run(harness, hooks)

    evaluation = _evaluation_issue(sim, number)
    assert "Bob's plan." in evaluation["body"] and "Carol's plan, written in time." in evaluation["body"]
    [notice] = [c["body"] for c in sim.issue_comments(REPO, evaluation["number"]) if "arrived late" in c["body"]]
    assert "shown above with the others" in notice and "Carol's plan" not in notice


def test_a_bid_written_after_the_deadline_is_still_refused(harness, hooks, sim):
    number = _opportunity_with_a_bid(harness, hooks, sim)
    harness.clock.now = DEADLINE + timedelta(minutes=1)
    run(harness, hooks)
    hooks.act(sim.human_comment(REPO, number, "bidder-carol", "/bid 7,500.00\nToo late."))
    run(harness, hooks)
    assert "Bidding closed on" in english(harness.bot_comments(number)[-1])
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal).where(Proposal.bidder == "bidder-carol")).first() is None


def test_a_recovered_bid_arriving_after_an_award_was_recommended_is_refused_and_says_why(harness, hooks, sim):
    number = _opportunity_with_a_bid(harness, hooks, sim)
    comment_id = _late_bid(harness, hooks, sim, number)
    run(harness, hooks)  # bidding closes
    harness.comment(number, "pm-alice", "/score @bidder-bob 80")
    harness.comment(number, "pm-alice", "/award @bidder-bob")
    recover(harness, hooks)
    reply = harness.bot_comments(number)[-1]
    assert "@bidder-carol" in reply and "only after an award was recommended" in english(reply)
    assert "après la recommandation d'une attribution" in french(reply)
    assert comment_id not in {c["id"] for c in harness.thread(number)}
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal).where(Proposal.bidder == "bidder-carol")).first() is None


def test_with_no_proposal_at_the_deadline_a_recovered_one_opens_the_evaluation_issue(harness, hooks, sim):
    number = sim.open_issue(REPO, "Speed up the tests", form_body(), "pm-alice")["number"]
    hooks.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    hooks.act(sim.human_comment(REPO, number, "bidder-carol", "/register"))
    run(harness, hooks)
    _late_bid(harness, hooks, sim, number)
    run(harness, hooks)  # bidding closes with no proposal: the issuers are told
    assert "no one bid" in english(harness.bot_comments(number)[-1])
    recover(harness, hooks)
    evaluation = _evaluation_issue(sim, number)
    assert "Carol's plan, written in time." in evaluation["body"]
    [notice] = [c["body"] for c in sim.issue_comments(REPO, evaluation["number"]) if "arrived late" in c["body"]]
    assert "shown above with the others" in notice
