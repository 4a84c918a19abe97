"""Missed deliveries (PRODUCT.md "Missed deliveries", issue 13): what GitHub failed to
deliver while the app was down is asked for again, once, and applied once, in order."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.pipeline.recovery import Recovery, next_cursor
from storage import recovery as recovery_store
from storage.db import make_engine
from storage.tables import Payment, Proposal
from tests.conftest import REPO, payload
from tests.flows import RECEIPT, english, form_body
from tests.recovery_flows import audit_kinds, hooks, opportunity_id, recover, recovery, run, stored_ids  # noqa: F401
from tests.test_pay_on_pull import MAINTAINER, awarded_opportunity, open_pull_request


def _minute(harness) -> None:
    harness.clock.advance(minutes=1)


def test_what_github_failed_to_deliver_while_the_app_was_down_is_redelivered_once_and_applied_once_in_order(harness, hooks, sim, clock, db_url):
    # Before the outage: an awarded contract with its contractor's pull request open.
    awarded = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Caches pip and npm.\n\nCloses #{awarded}")

    # The app is down: GitHub records failed attempts of everything that happens.
    hooks.down = True
    issue = sim.open_issue(REPO, "Speed up the tests", form_body(), "pm-alice")
    number = issue["number"]
    hooks.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    for login in ("bidder-bob", "bidder-carol"):
        _minute(harness)
        hooks.act(sim.human_comment(REPO, number, login, "/register"))
    bids = {}
    for login, amount in (("bidder-bob", "8,000.00"), ("bidder-carol", "7,500.00")):
        _minute(harness)
        event, data = sim.human_comment(REPO, number, login, f"/bid {amount}\nMy plan, by {login}.")
        bids[login] = data["comment"]["id"]
        hooks.deliver(event, data)
    _minute(harness)
    sim.add_review(REPO, pr, "pm-alice", "APPROVED")  # acceptance: approved by a writer who is not the contractor
    hooks.act(sim.human_merge_pull_request(REPO, pr, MAINTAINER))
    missed = hooks.failed_guids()
    assert len(missed) == 6 and stored_ids(harness.engine) == [] or not set(stored_ids(harness.engine)) & missed

    # Started again: one pass asks for each missed delivery once.
    hooks.down = False
    _minute(harness)
    report = recover(harness, hooks)
    assert sorted(m.guid for m in report.requested) == sorted(missed)
    assert [m.first.event for m in report.requested] == ["issues", "issue_comment", "issue_comment", "issue_comment", "issue_comment", "pull_request"]
    assert all(hooks.asked_count(guid) == 1 for guid in missed)
    assert not hooks.failed_guids()

    # Applied once each, in the issue's order: summary, registrations, receipts in bid order.
    stored = stored_ids(harness.engine)
    assert all(stored.count(guid) == 1 for guid in missed)
    bodies = harness.bot_comments(number)
    assert "## Opportunity:" in bodies[0]
    replies = [english(b) for b in bodies[1:]]
    assert ["@bidder-bob" in replies[0], "@bidder-carol" in replies[1]] == [True, True]
    assert all("Registered" in r for r in replies[:2])
    assert "@bidder-bob" in replies[2] and "Proposal received" in replies[2]
    assert "@bidder-carol" in replies[3] and "Proposal received" in replies[3]
    assert len(replies) == 4
    assert RECEIPT.search(replies[2]) and RECEIPT.search(replies[3])
    # Sealed: both bid comments removed from the issue.
    assert not {c["id"] for c in harness.thread(number)} & set(bids.values())
    assert "devex:open" in harness.labels(number)
    assert "**2** proposals" in english(harness.bot_comments(number)[0])

    # The merge paid its milestone, once.
    with Session(harness.engine) as session:
        [payment] = session.exec(select(Payment)).all()
    assert (payment.contractor, payment.amount) == ("dev-bob", Decimal("4263.16"))

    # The audit trail of each opportunity says which deliveries came back.
    recovered = audit_kinds(harness.engine, "delivery_recovered")
    assert sorted(e.delivery_id for e in recovered) == sorted(missed)
    assert [e.opportunity_id for e in recovered].count(opportunity_id(harness.engine, number)) == 5
    assert [e.opportunity_id for e in recovered].count(opportunity_id(harness.engine, awarded)) == 1

    # A later pass asks for nothing more.
    clock.advance(minutes=5)
    again = recover(harness, hooks)
    assert again.requested == [] and again.missed == 0
    assert len(hooks.asked) == 6


def test_a_delivery_already_stored_is_never_asked_for(harness, hooks, sim):
    number = sim.open_issue(REPO, "Speed up the tests", form_body(), "pm-alice")["number"]
    hooks.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    run(harness, hooks)
    # Stored and answered 202, but GitHub gave up waiting and recorded a failure.
    hooks.answer_late_next()
    attempt = hooks.act(sim.human_comment(REPO, number, "bidder-bob", "/register"))
    assert attempt["status"] == "timed out" and attempt["guid"] in stored_ids(harness.engine)

    report = recovery(harness).run_once()
    assert report.missed == 1 and report.already_stored == [attempt["guid"]]
    assert report.requested == [] and hooks.asked == []


def test_more_than_a_hundred_failures_on_several_pages_are_all_recovered(harness, hooks, sim, clock):
    hooks.down = True
    guids = []
    for i in range(130):
        ping = payload("ping")
        ping["zen"] = f"ping {i}"
        guids.append(hooks.deliver("ping", ping)["guid"])
        if i % 10 == 0:
            clock.advance(seconds=30)
    hooks.down = False
    clock.advance(minutes=1)
    sim.requests.clear()

    report = recovery(harness).run_once()
    clock.advance(hours=1)  # GitHub redelivers a while later
    hooks.flush()
    run(harness, hooks)
    assert report.pages == 2 and report.attempts == 130
    assert [m.guid for m in report.requested] == guids  # oldest first, as they were sent
    assert sorted(stored_ids(harness.engine)) == sorted(guids)
    lists = [r for r in sim.requests if r.path == "/app/hook/deliveries"]
    assert [r.query.get("per_page") for r in lists] == ["100", "100"] and "cursor" in lists[1].query

    # Later passes read back to about where the previous one looked, not three days:
    # after the next one has seen the redeliveries succeed, the one after stops before
    # the outage's 130 failed attempts (3 pages in all).
    clock.advance(hours=1)
    assert recovery(harness).run_once().requested == []
    clock.advance(hours=1)
    hooks.act(("ping", payload("ping")))
    later = recovery(harness).run_once()
    assert len(hooks.attempts) == 261
    assert later.pages == 2 and later.attempts == 131 and later.requested == [] and later.missed == 0
    assert len(hooks.asked) == 130


def test_two_processes_on_one_database_ask_once_per_guid(harness, hooks, sim, clock, db_url):
    hooks.down = True
    for i in range(12):
        ping = payload("ping")
        ping["zen"] = f"ping {i}"
        hooks.deliver("ping", ping)
    missed = hooks.failed_guids()
    hooks.down = False
    clock.advance(minutes=1)

    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        passes = [recovery(harness, engine) for engine in engines]
        start = threading.Barrier(2)
        reports = [None, None]

        def one(i: int) -> None:
            start.wait()
            reports[i] = passes[i].run_once()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # GitHub has not redelivered yet: a pass of either process now sees the same failures.
        for each in passes:
            late = each.run_once()
            assert late.requested == [] and sorted(late.already_requested) == sorted(missed)
    finally:
        for engine in engines:
            engine.dispose()
    asked = [guid for report in reports if not report.skipped for guid in (m.guid for m in report.requested)]
    assert sorted(asked) == sorted(missed)
    assert sorted(hooks.asked) == sorted(missed)
    hooks.flush()
    run(harness, hooks)
    assert sorted(stored_ids(harness.engine)) == sorted(missed)


def test_a_guid_is_claimed_by_one_session_only(engine):
    now = datetime(2026, 11, 2, 15, tzinfo=timezone.utc)
    kwargs = dict(guid="g-1", hook_delivery_id=7, event="ping", action=None, first_delivered_at=now, last_attempt_at=now, now=now, max_requests=3)
    with Session(engine) as first:
        assert recovery_store.claim(first, **kwargs)
        first.commit()
    with Session(engine) as second:
        assert not recovery_store.claim(second, **kwargs)  # the same failure: never asked twice
        # GitHub's redelivery failed too, later: a new failure may be asked for, once.
        later = {**kwargs, "last_attempt_at": now + timedelta(minutes=5), "now": now + timedelta(minutes=6)}
        assert recovery_store.claim(second, **later)
        assert not recovery_store.claim(second, **later)
        second.commit()


def test_github_refusing_a_redelivery_is_logged_and_the_pass_goes_on(harness, hooks, sim, clock, caplog):
    hooks.down = True
    guids = []
    for i in range(3):
        ping = payload("ping")
        ping["zen"] = f"ping {i}"
        guids.append(hooks.deliver("ping", ping)["guid"])
        clock.advance(seconds=10)
    hooks.down = False
    sim.fail_next(
        "POST", r"^/app/hook/deliveries/\d+/attempts$", 422,
        body={"message": "Validation Failed", "errors": [{"message": "Cannot redeliver deliveries older than 3 days"}]},
    )  # fmt: skip
    with caplog.at_level(logging.INFO, logger="bot.pipeline.recovery"):
        report = recover(harness, hooks)
    assert [m.guid for m, _ in report.refused] == guids[:1]
    assert [m.guid for m in report.requested] == guids[1:]
    assert "GitHub refused to redeliver " + guids[0] in caplog.text and "422" in caplog.text
    assert sorted(stored_ids(harness.engine)) == sorted(guids[1:])
    # Refused for good: not asked again.
    clock.advance(minutes=5)
    assert recovery(harness).run_once().requested == []


def test_the_app_refused_by_github_says_so_and_asks_nothing(harness, hooks, sim):
    hooks.down = True
    hooks.deliver("ping", payload("ping"))
    hooks.down = False
    sim.app_id = "999"  # GitHub knows the app by another id: its JWT is refused
    from bot.github.client import GitHubError

    with pytest.raises(GitHubError) as refused:
        recovery(harness).run_once()
    assert refused.value.authentication and "GITHUB_APP_ID 4242" in str(refused.value)
    assert hooks.asked == []


def test_next_cursor_reads_githubs_link_header():
    link = '<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_1234>; rel="next", <https://api.github.com/app/hook/deliveries?per_page=100>; rel="first"'
    assert next_cursor({"Link": link}) == "v1_1234"
    assert next_cursor({"link": '<https://api.github.com/app/hook/deliveries?per_page=100>; rel="first"'}) is None
    assert next_cursor({}) is None


# ---------------------------------------------------------------- beside the scheduler


def test_the_first_pass_runs_when_the_app_starts(harness, hooks, sim, app_key):
    from bot.runtime import build

    hooks.down = True
    guid = hooks.deliver("ping", payload("ping"))["guid"]
    hooks.down = False
    runtime = build(harness.settings, engine=harness.engine, github_call=harness.github.call, app_call=harness.github.call_as_app, clock=harness.clock)
    assert runtime.recovery is not None
    runtime.start(worker=False, sender=False, scheduler=False)
    try:
        for _ in range(200):
            if hooks.asked:
                break
            threading.Event().wait(0.02)
    finally:
        runtime.shutdown()
    assert hooks.asked == [guid]
    off = build(harness.settings.model_copy(update={"recovery_interval": 0}), engine=harness.engine, app_call=harness.github.call_as_app)
    assert off.recovery is None


def test_recover_on_the_command_line_prints_what_it_redelivered(harness, hooks, sim, clock, db_url, app_key, monkeypatch, capsys):
    from bot.cli import main
    from tests.conftest import API, APP_ID

    clock.now = datetime.now(timezone.utc)  # the command reads the wall clock
    hooks.down = True
    guid = hooks.deliver("ping", payload("ping"))["guid"]
    hooks.down = False
    for name, value in dict(DATABASE_URL=db_url, GITHUB_APP_ID=APP_ID, GITHUB_PRIVATE_KEY=app_key, GITHUB_API_URL=API).items():
        monkeypatch.setenv(name, value)
    assert main(["recover", "--since", (clock() - timedelta(minutes=5)).isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"redelivered: {guid} (ping" in out and "1 redelivered" in out
    assert hooks.asked == [guid]
    assert main(["recover", "--since", (clock() - timedelta(minutes=5)).isoformat()]) == 0
    again = capsys.readouterr().out
    assert "0 redelivered" in again and "1 already asked for" in again
