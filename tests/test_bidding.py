"""Registering and bidding by comment; sealed receipts; the deadline closing bidding on time."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.procurement.receipts import proposal_sha256
from storage.tables import Proposal, ProposalVersion, Registration
from tests.conftest import REPO
from tests.flows import RECEIPT, SHA256, bid, english, french, last_reply, open_opportunity, register


def test_register_records_the_attestation_with_the_terms_version(harness, sim):
    number = open_opportunity(harness)
    harness.comment(number, "bob", "/register")
    reply = last_reply(harness, number)
    assert reply.startswith("@bob")
    assert "**Registered.**" in english(reply) and "legally entitled to work in Canada" in reply
    assert "version 2026-11" in reply
    assert "**Inscription consignée.**" in french(reply)
    with Session(harness.engine) as session:
        row = session.exec(select(Registration)).one()
        assert (row.login, row.terms_version) == ("bob", "2026-11")

    harness.comment(number, "bob", "/inscription")
    assert "Already registered" in last_reply(harness, number)


def test_a_sealed_bid_is_recorded_deleted_and_answered_with_a_receipt(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    text = "I will cache the dependencies\nand split the test suite."
    response = harness.comment(number, "bob", f"/bid $9,000.00\n{text}")
    assert response.status_code == 202

    # The /bid comment is gone from the issue, deleted by id.
    bodies = [c["body"] for c in harness.thread(number)]
    assert not any(b.startswith("/bid") or "cache the dependencies" in b for b in bodies)
    deletes = [r for r in sim.requests if r.method == "DELETE" and "/issues/comments/" in r.path]
    assert len(deletes) == 1
    reply = last_reply(harness, number)
    assert reply.startswith("@bob")
    assert "9,000" not in reply and "9000" not in reply and "cache" not in reply
    digest = SHA256.search(reply).group(1)
    assert digest == proposal_sha256(Decimal("9000.00"), text)
    receipt = RECEIPT.search(reply).group(0)
    assert "2026-11-02 15:00 UTC" in reply
    assert "your comment was removed" in reply
    with Session(harness.engine) as session:
        proposal = session.exec(select(Proposal)).one()
        assert (proposal.bidder, proposal.amount, proposal.status, proposal.receipt_number) == ("bob", Decimal("9000.00"), "live", receipt)
    # The summary counts it, without saying whose or how much.
    summary = harness.bot_comments(number)[0]
    assert "**1** proposal received" in summary and "bob" not in summary


def test_open_bidding_leaves_the_comment_and_shows_the_amount(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "bidding: open\n"
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "8 000,00 $")
    assert any(c["body"].startswith("/bid") for c in harness.thread(number))
    assert not [r for r in sim.requests if r.method == "DELETE" and "/issues/comments/" in r.path]
    assert "| Amount | $8,000.00 |" in last_reply(harness, number)


def test_a_later_bid_replaces_the_proposal_and_every_version_is_kept(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000", "First idea.")
    bid(harness, number, "bob", "8500", "Better idea.")
    assert "it replaces your previous one" in last_reply(harness, number)
    with Session(harness.engine) as session:
        proposal = session.exec(select(Proposal)).one()
        versions = session.exec(select(ProposalVersion).order_by(ProposalVersion.version)).all()
        assert proposal.amount == Decimal("8500.00") and proposal.current_version == 2
        assert [(v.version, v.amount, v.text) for v in versions] == [(1, Decimal("9000.00"), "First idea."), (2, Decimal("8500.00"), "Better idea.")]


def test_a_bid_whose_handler_fails_leaves_nothing_behind_for_the_next_bid_in_its_batch(make_harness, sim, monkeypatch):
    """Each delivery in its own savepoint (as after a failure): the first bid's proposal is
    inserted, then its handler fails and its savepoint is rolled back; the next bid in the
    same batch and session (another opportunity; on SQLite its proposal may take the id
    the rolled-back one had) is recorded, and the first is recorded when retried."""
    import time

    from bot.stages import bidding

    harness = make_harness(DEVEX_CONFIG_TTL=3600)  # the configuration read once: the bids ask GitHub nothing
    first, second, earlier = (open_opportunity(harness, title=title) for title in ("First", "Second", "Earlier"))
    for number in (first, second, earlier):
        register(harness, number, "bob")
    bid(harness, earlier, "bob", "7000", "An earlier bid.")  # GitHub asked about bob once (remembered)
    real_refresh = bidding.refresh_summary

    def failing_on_first(ctx, opportunity):
        if opportunity.issue_number == first:
            raise RuntimeError("summary failed")
        real_refresh(ctx, opportunity)

    monkeypatch.setattr(bidding, "refresh_summary", failing_on_first)
    harness.comment(first, "bob", "/bid 9000\nFor the first.", run=False)
    harness.comment(second, "bob", "/bid 8000\nFor the second.", run=False)
    harness.runtime.worker._savepoints_until = time.monotonic() + 60
    assert harness.runtime.worker.run_once() == 2  # one batch, two savepoints
    with Session(harness.engine) as session:
        assert sorted(p.amount for p in session.exec(select(Proposal)).all()) == [Decimal("7000.00"), Decimal("8000.00")]
    monkeypatch.setattr(bidding, "refresh_summary", real_refresh)
    harness.run()
    with Session(harness.engine) as session:
        rows = session.exec(select(Proposal).order_by(Proposal.amount)).all()
        versions = session.exec(select(ProposalVersion)).all()
    assert [p.amount for p in rows] == [Decimal("7000.00"), Decimal("8000.00"), Decimal("9000.00")]
    assert sorted(v.proposal_id for v in versions) == sorted(p.id for p in rows)
    assert all(p.receipt_number == v.receipt_number for p in rows for v in versions if v.proposal_id == p.id)


def test_withdraw_then_bid_again(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")
    harness.comment(number, "bob", "/retirer")
    assert "**Proposal withdrawn**" in last_reply(harness, number)
    harness.comment(number, "bob", "/withdraw")
    assert "You have no proposal on this opportunity to withdraw." in last_reply(harness, number)
    bid(harness, number, "bob", "8000")
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal)).one().status == "live"


@pytest.mark.parametrize(
    "login, command, expected",
    [
        ("dave", "/bid 9000\nNot registered.", "comment `/register` first"),
        ("bob", "/bid 9600\nToo much.", "over this opportunity's value of $9,500.00"),
        ("bob", "/bid lots\nHow much?", "The amount could not be read"),
        ("bob", "/bid 0", "more than $0.00"),
        ("pm-alice", "/bid 9000\nMy own.", "conflict of interest"),
    ],
)
def test_bids_that_cannot_be_recorded_say_why(harness, sim, login, command, expected):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    with Session(harness.engine) as session:  # pm-alice registered on another opportunity, where she may bid
        session.add(Registration(login="pm-alice", terms_url="https://github.com/canada-ca/devex-bot/blob/main/docs/terms.md", terms_version="2026-11"))
        session.commit()
    harness.comment(number, login, command)
    reply = last_reply(harness, number)
    assert reply.startswith(f"@{login}") and "was not carried out" in reply
    assert expected in reply
    # Sealed: even a refused bid does not stay on the issue.
    assert not any(c["body"].startswith("/bid") for c in harness.thread(number))
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal)).all() == []


def test_status_and_help_in_both_languages(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")
    harness.comment(number, "carol", "/statut")
    reply = last_reply(harness, number)
    assert "**Status:** open for proposals. Deadline: 2026-11-20 19:00 UTC (2026-11-20 14:00 EST, America/Toronto). Proposals: 1." in reply
    assert "**État :** ouverte aux propositions." in reply

    harness.comment(number, "carol", "/help")
    reply = last_reply(harness, number)
    en, fr = english(reply), french(reply)
    assert "| `/bid AMOUNT` | `/soumission` |" in en and "comment /register first" in en
    assert "| `/register` | `/inscription` | attest once that you may bid | ✅ |" in en
    assert "| `/extend DATE` | `/prolonger` | move the deadline later |  issuers only |" in en
    assert "commentez d'abord /inscription" in fr

    harness.comment(number, "bob", "/help")
    assert "| `/bid AMOUNT` | `/soumission` | submit or replace your proposal (the rest of the comment) | ✅ |" in last_reply(harness, number)


def test_extend_by_an_issuer_tells_the_bidders_and_others_are_refused(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")
    harness.comment(number, "bob", "/extend 2026-12-01")
    assert "Only the opportunity's issuers" in last_reply(harness, number)

    harness.comment(number, "pm-alice", "/prolonger 2026-12-01")
    comments = harness.bot_comments(number)
    notice = [c for c in comments if "### Deadline extended" in c][-1]
    assert "@bob" in notice and "2026-12-01 19:00 UTC" in notice
    assert "**Deadline extended** to 2026-12-01 19:00 UTC" in comments[-1]
    assert "2026-12-01 19:00 UTC" in comments[0]  # the summary

    harness.comment(number, "pm-alice", "/extend 2026-11-25")
    assert "later than the current one" in last_reply(harness, number)


def test_the_deadline_closes_bidding_on_time_without_any_webhook(harness, sim, clock):
    number = open_opportunity(harness, deadline="2026-11-03")
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")

    clock.now = datetime(2026, 11, 3, 18, 59, tzinfo=timezone.utc)
    harness.run()
    assert "devex:open" in harness.labels(number)
    clock.now = datetime(2026, 11, 3, 19, 0, tzinfo=timezone.utc)
    harness.run()  # only the scheduler acts: no delivery arrived
    assert "devex:evaluation" in harness.labels(number) and "devex:open" not in harness.labels(number)
    assert "in evaluation" in harness.bot_comments(number)[0]


def test_a_bid_after_the_deadline_is_refused_before_the_scheduler_runs(harness, sim, clock):
    number = open_opportunity(harness, deadline="2026-11-03")
    register(harness, number, "bob")
    clock.now = datetime(2026, 11, 3, 19, 0, 1, tzinfo=timezone.utc)
    # The comment arrives and is handled before any scheduler pass.
    harness.act(sim.human_comment(REPO, number, "bob", "/bid 9000\nLate."))
    harness.runtime.worker.drain()
    harness.runtime.sender.drain()
    reply = last_reply(harness, number)
    assert "Bidding closed on 2026-11-03 19:00 UTC" in reply
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal)).all() == []


def test_no_proposal_at_the_deadline_tells_the_issuers_and_extend_reopens(harness, sim, clock):
    number = open_opportunity(harness, deadline="2026-11-03")
    clock.now = datetime(2026, 11, 4, tzinfo=timezone.utc)
    harness.run()
    assert "devex:evaluation" in harness.labels(number)
    notice = [c for c in harness.bot_comments(number) if "closed with no proposal" in c][-1]
    assert "@pm-alice" in notice
    harness.comment(number, "pm-alice", "/extend 2026-11-10")
    assert "devex:open" in harness.labels(number)


def test_a_date_deadline_crosses_the_daylight_saving_change(harness, sim, clock):
    # Posted on 2026-10-30 (EDT, UTC-4); the deadline 2026-11-05 14:00 is EST (UTC-5) = 19:00 UTC.
    clock.now = datetime(2026, 10, 30, 16, 0, tzinfo=timezone.utc)
    number = open_opportunity(harness, deadline="2026-11-05")
    assert "2026-11-05 19:00 UTC (2026-11-05 14:00 EST, America/Toronto)" in harness.bot_comments(number)[0]
    clock.now = datetime(2026, 11, 5, 18, 30, tzinfo=timezone.utc)  # 14:00 EDT would have passed
    harness.run()
    assert "devex:open" in harness.labels(number)
    clock.now = datetime(2026, 11, 5, 19, 0, tzinfo=timezone.utc)
    harness.run()
    assert "devex:evaluation" in harness.labels(number)


def test_several_commands_in_one_comment_get_one_reply(harness, sim):
    number = open_opportunity(harness)
    before = len(harness.bot_comments(number))
    harness.comment(number, "bob", "Hello!\n/register\n> /cancel quoted\n```\n/status\n```\n/bid 9000\nMy proposal.")
    comments = harness.bot_comments(number)
    assert len(comments) == before + 1
    reply = comments[-1]
    assert "**Registered.**" in reply and "**Proposal received.**" in reply
    assert "cancel" not in english(reply).lower() and "Status" not in reply


def test_a_sealed_bid_costs_two_github_requests(make_harness, sim):
    harness = make_harness(DEVEX_CONFIG_TTL=300)  # the production default: the file is cached
    number = open_opportunity(harness)
    register(harness, number, "bob")
    before = len(sim.requests)
    harness.act(sim.human_comment(REPO, number, "bob", "/bid 9000\nMy plan."))
    harness.runtime.worker.drain()
    with Session(harness.engine) as session:
        from storage.tables import GitHubWrite

        owed = [w.method for w in session.exec(select(GitHubWrite).where(GitHubWrite.status == "pending")).all() if w.kind == "request"]
    harness.run()
    # bob comments as a non-collaborator (author_association NONE): no permission read.
    assert not [r for r in sim.requests[before:] if r.method == "GET"]
    # The bid owes two requests: delete the /bid comment, post the receipt (the
    # summary edit is shared by every bid waiting in the queue).
    assert sorted(owed) == ["DELETE", "POST"]


def test_a_rule_changed_in_the_command_table_changes_help_and_the_refusal_together(harness, sim, monkeypatch):
    from dataclasses import replace

    from bot.stages import command_table
    from bot.stages.outcomes import Refusal

    number = open_opportunity(harness)
    register(harness, number, "bob")
    harness.comment(number, "bob", "/help")
    assert "| `/withdraw` | `/retirer` | withdraw your proposal |  once you have a proposal, while bidding is open |" in english(last_reply(harness, number))

    # A new rule: only issuers may bid. One change, in the one table.
    def issuers_bid(ctx, target, login, fresh):
        return None if target.people.is_issuer(login, fresh) else Refusal("not_issuer", "issuers_only")

    spec = replace(command_table.BY_NAME["bid"], may=issuers_bid)
    monkeypatch.setitem(command_table.BY_NAME, "bid", spec)
    monkeypatch.setattr(command_table, "TABLE", tuple(spec if s.name == "bid" else s for s in command_table.TABLE))

    harness.comment(number, "bob", "/help")
    assert "| `/bid AMOUNT` | `/soumission` | submit or replace your proposal (the rest of the comment) |  issuers only |" in english(last_reply(harness, number))
    bid(harness, number, "bob", "9000")
    assert "Only the opportunity's issuers" in last_reply(harness, number)
    with Session(harness.engine) as session:
        assert session.exec(select(Proposal)).all() == []
