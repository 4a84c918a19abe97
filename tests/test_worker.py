"""The durable inbox and the worker (issue 2.2, 2.8): order per issue, one worker per issue,
failures kept and retried, parked after too many, inactive installations ignored."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from sqlmodel import Session, select

from bot.pipeline.context import Context
from bot.pipeline.delivery import delivery_from
from bot.pipeline.routing import Router
from bot.settings import Settings
from bot.pipeline.worker import Worker
from storage import inbox
from storage.db import make_engine
from storage.tables import Delivery, Installation, InstallationRepository
from tests.conftest import INSTALLATION, REPO, payload, sign
from tests.spine import deliveries, open_opportunity, statuses


def comment_delivery(sim, number: int, body: str, login: str = "bidder-bob"):
    """A real issue_comment.created delivery, as the inbox stores it."""
    if number not in sim.issues[REPO]:
        while len(sim.issues[REPO]) < number:
            sim.open_issue(REPO, f"Issue {len(sim.issues[REPO]) + 1}", "body", "pm-alice")
    event, data = sim.human_comment(REPO, number, login, body)
    data["installation"] = {"id": INSTALLATION}
    raw = json.dumps(data).encode()
    return delivery_from(f"d-{number}-{body}", event, data["action"], data, raw)


def store(engine, *new, clock=None) -> None:
    with Session(engine) as session:
        for delivery in new:
            assert inbox.store(session, delivery, clock() if clock else None)
        session.commit()


class Recorder:
    """A router whose one handler records what it applied, and fails on demand."""

    def __init__(self, sleep: float = 0.0):
        self.applied: list[str] = []
        self.fail: Counter = Counter()
        self.sleep = sleep
        self.busy: set[str] = set()
        self.overlaps: list[str] = []
        self.lock = threading.Lock()
        self.router = Router()
        self.router.register("issue_comment", action="created")(self.handle)

    def handle(self, ctx: Context) -> None:
        key = f"{ctx.repository}#{ctx.payload['issue']['number']}"
        body = ctx.payload["comment"]["body"]
        with self.lock:
            if key in self.busy:
                self.overlaps.append(key)
            self.busy.add(key)
        try:
            if self.sleep:
                time.sleep(self.sleep)
            if self.fail[body] > 0:
                self.fail[body] -= 1
                # Something written before the failure must be rolled back with it.
                ctx.session.add(Installation(id=999_000 + len(self.applied), account="half-done"))
                ctx.session.flush()
                raise RuntimeError(f"handler failed on {body}")
            with self.lock:
                self.applied.append(body)
        finally:
            with self.lock:
                self.busy.discard(key)


def worker(engine, recorder: Recorder, clock, name="worker", **settings) -> Worker:
    values = dict(DEVEX_RETRY_BASE=10, DEVEX_MAX_DELIVERY_ATTEMPTS=3)
    values.update(settings)
    return Worker(engine, Settings(**values), recorder.router, None, clock=clock, name=name)


# ------------------------------------------------------------------ order per issue


def test_deliveries_of_one_issue_apply_in_the_order_received(engine, sim, clock):
    recorder = Recorder()
    recorder.fail["first"] = 1
    store(
        engine,
        comment_delivery(sim, 1, "first"),
        comment_delivery(sim, 1, "second"),
        comment_delivery(sim, 2, "other issue"),
        comment_delivery(sim, 1, "third"),
        clock=clock,
    )
    w = worker(engine, recorder, clock)

    # "first" fails and waits for its retry: the later deliveries of issue 1 are
    # claimable by time, but must wait behind it; issue 2 goes on.
    w.drain()
    assert recorder.applied == ["other issue"]
    with Session(engine) as session:
        assert inbox.claim_next(session, clock()) is None
    clock.advance(seconds=11)
    w.drain()
    assert recorder.applied == ["other issue", "first", "second", "third"]
    assert [(r["status"], r["attempts"]) for r in deliveries(engine)] == [("done", 2), ("done", 1), ("done", 1), ("done", 1)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # row locks; SQLite has one writer at a time
def test_claim_skips_an_issue_whose_older_delivery_is_locked_by_another_worker(db_url, sim, clock):
    """On PostgreSQL a claimed row is locked; the next claim skips it *and* the rest of its issue."""
    engine = make_engine(db_url)
    try:
        store(engine, comment_delivery(sim, 1, "a"), comment_delivery(sim, 1, "b"), comment_delivery(sim, 2, "c"), clock=clock)
        with Session(engine) as first, Session(engine) as second:
            held = inbox.claim_next(first, clock())
            assert held.delivery_id == "d-1-a"
            other = inbox.claim_next(second, clock())
            assert other.delivery_id == "d-2-c"  # not d-1-b: its issue is being worked on
            second.rollback()
            first.rollback()
    finally:
        engine.dispose()


def test_two_workers_never_work_on_one_issue_at_once_and_apply_each_delivery_once(db_url, sim, clock):
    engine = make_engine(db_url)
    try:
        recorder = Recorder(sleep=0.003)
        bodies = {n: [f"issue {n} step {i}" for i in range(6)] for n in range(1, 6)}
        new = []
        for i in range(6):  # interleaved, as GitHub would deliver them
            for n in range(1, 6):
                new.append(comment_delivery(sim, n, bodies[n][i]))
        store(engine, *new, clock=clock)
        workers = [worker(engine, recorder, clock, name=f"w{i}") for i in range(2)]
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def run(w: Worker) -> None:
            start.wait()  # both at once: the installation's first row is raced for too
            try:
                w.drain()
            except BaseException as exc:  # a worker that dies is a failure, not a warning
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert recorder.overlaps == []
        assert Counter(recorder.applied) == Counter(b for bs in bodies.values() for b in bs)
        for n, expected in bodies.items():
            assert [b for b in recorder.applied if b.startswith(f"issue {n} ")] == expected
        assert {(r["status"], r["attempts"]) for r in deliveries(engine)} == {("done", 1)}
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # row locks and PostgreSQL's deadlock detector
def test_a_batch_aborted_by_a_real_deadlock_is_run_again_and_loses_nothing(db_url, sim, clock, caplog):
    """PostgreSQL breaks a deadlock by aborting one transaction: when that is a worker's
    batch, the whole batch is rolled back and run again one delivery at a time, each
    delivery's effect committed once, and none charged a failed attempt."""
    engine = make_engine(db_url)
    held_x, release = threading.Event(), threading.Event()
    first_try = {"locker": True}

    def handle(ctx: Context) -> None:
        body = ctx.payload["comment"]["body"]
        if body == "locker" and first_try["locker"]:
            first_try["locker"] = False
            ctx.session.exec(select(Installation).where(Installation.id == 71).with_for_update()).one()
            held_x.set()
            release.wait(10)  # the other side now holds Y and waits for X
            time.sleep(0.1)
            ctx.session.exec(select(Installation).where(Installation.id == 72).with_for_update()).one()
        ctx.session.add(InstallationRepository(installation_id=71, full_name=f"effect/{body}"))
        ctx.session.flush()

    try:
        with Session(engine) as session:
            session.add(Installation(id=71, account="x"))
            session.add(Installation(id=72, account="y"))
            session.commit()
        store(engine, comment_delivery(sim, 1, "before"), comment_delivery(sim, 2, "locker"), comment_delivery(sim, 3, "after"), clock=clock)
        router = Router()
        router.register("issue_comment", action="created")(handle)
        w = Worker(engine, Settings(DEVEX_RETRY_BASE=10), router, None, clock=clock)
        assert w.batch > 1  # the three are claimed in one transaction

        side_errors: list[BaseException] = []

        def other_side() -> None:
            try:
                with engine.connect() as conn, conn.begin():
                    # The worker's backend detects the deadlock (after its 1 s); this one would wait 20.
                    # (Setting it takes a superuser, as the test database's `postgres` is.)
                    conn.exec_driver_sql("SET LOCAL deadlock_timeout = '20s'")
                    conn.exec_driver_sql("SELECT id FROM installations WHERE id = 72 FOR UPDATE")
                    held_x.wait(10)
                    release.set()
                    conn.exec_driver_sql("SELECT id FROM installations WHERE id = 71 FOR UPDATE")  # waits: a deadlock
            except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
                side_errors.append(exc)
                release.set()

        side = threading.Thread(target=other_side)
        side.start()
        with caplog.at_level("WARNING", logger="bot.pipeline.worker"):
            handled = w.drain()
        side.join(timeout=30)
        assert not side.is_alive() and side_errors == []
        assert handled == 3
        assert any("aborted by the database (40P01)" in r.getMessage() for r in caplog.records)
        assert [(r["status"], r["attempts"], r["last_error"]) for r in deliveries(engine)] == [("done", 1, None)] * 3
        with Session(engine) as session:
            effects = session.exec(select(InstallationRepository.full_name).where(InstallationRepository.installation_id == 71)).all()
        assert sorted(effects) == ["effect/after", "effect/before", "effect/locker"]
    finally:
        engine.dispose()


# ------------------------------------------------------------------ failures


def test_a_failing_handler_loses_nothing_leaves_no_effect_and_blocks_no_other_issue(engine, sim, clock):
    recorder = Recorder()
    recorder.fail["broken"] = 1
    store(engine, comment_delivery(sim, 1, "broken"), comment_delivery(sim, 2, "fine"), clock=clock)
    w = worker(engine, recorder, clock)
    w.drain()
    assert recorder.applied == ["fine"]
    broken, fine = deliveries(engine)
    assert broken["status"] == "pending" and broken["attempts"] == 1
    assert "RuntimeError: handler failed on broken" in broken["last_error"]
    assert fine["status"] == "done"
    with Session(engine) as session:  # the half-done write was rolled back with the savepoint
        assert session.get(Installation, 999_000) is None
    clock.advance(seconds=11)
    w.drain()
    assert recorder.applied == ["fine", "broken"]
    assert deliveries(engine)[0]["status"] == "done"


def test_a_batch_runs_without_savepoints_and_a_failure_in_it_is_run_again_with_them(engine, sim, clock):
    """A batch is first run without a savepoint for each delivery; when a handler fails,
    the batch is rolled back whole and run again with them: each effect committed once,
    the failure counted once, and the failing handler not run a second time."""
    calls: Counter = Counter()
    router = Router()

    @router.register("issue_comment", action="created")
    def handle(ctx: Context) -> None:
        body = ctx.payload["comment"]["body"]
        calls[body] += 1
        ctx.session.add(Installation(id=990_000 + ctx.payload["issue"]["number"], account=body))
        ctx.session.flush()
        if body == "broken":
            raise RuntimeError("handler failed on broken")

    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    from sqlalchemy import event

    with Session(engine) as session:  # known already: touching it needs no savepoint of its own
        session.add(Installation(id=INSTALLATION, account="org"))
        session.commit()
    event.listen(engine, "before_cursor_execute", seen)
    w = Worker(engine, Settings(DEVEX_RETRY_BASE=10, DEVEX_MAX_DELIVERY_ATTEMPTS=3), router, None, clock=clock)
    store(engine, comment_delivery(sim, 1, "first"), comment_delivery(sim, 2, "second"), clock=clock)
    statements.clear()  # the worker's own from here
    w.drain()
    assert "SAVEPOINT" not in statements  # nothing failed: no savepoint was needed
    assert calls == {"first": 1, "second": 1}

    store(engine, comment_delivery(sim, 3, "before"), comment_delivery(sim, 4, "broken"), comment_delivery(sim, 5, "after"), clock=clock)
    statements.clear()
    w.drain()
    assert "SAVEPOINT" in statements  # the batch again, each delivery in its savepoint
    assert calls["broken"] == 1  # its failure recorded from the first run, not asked again
    assert calls["after"] == 1
    assert calls["before"] == 2  # handled again after the rollback: its effect is once in the database
    rows = {d["ordering_key"].rsplit("#", 1)[1]: d for d in deliveries(engine)}
    assert rows["4"]["status"] == "pending" and rows["4"]["attempts"] == 1
    assert "RuntimeError: handler failed on broken" in rows["4"]["last_error"]
    assert rows["3"]["status"] == rows["5"]["status"] == "done" and rows["3"]["attempts"] == 1
    with Session(engine) as session:
        accounts = sorted(i.account for i in session.exec(select(Installation).where(Installation.id >= 990_000)))
    assert accounts == ["after", "before", "first", "second"]  # each once; the broken one's rolled back


def test_backoff_grows_and_is_capped(engine, sim, clock):
    recorder = Recorder()
    recorder.fail["flaky"] = 5
    store(engine, comment_delivery(sim, 1, "flaky"), clock=clock)
    w = worker(engine, recorder, clock, DEVEX_RETRY_BASE=2, DEVEX_RETRY_CAP=5, DEVEX_MAX_DELIVERY_ATTEMPTS=10)
    waits = []
    for _ in range(5):
        start = clock()
        assert w.run_once()
        with Session(engine) as session:
            [row] = session.exec(select(Delivery)).all()
        waits.append((row.next_attempt_at - start).total_seconds())
        assert not w.run_once()  # not due yet
        clock.advance(seconds=waits[-1])
    assert waits == [2, 4, 5, 5, 5]
    assert w.run_once() and recorder.applied == ["flaky"]


def test_parked_after_max_attempts_and_the_issue_goes_on(engine, sim, clock):
    recorder = Recorder()
    recorder.fail["always"] = 100
    store(engine, comment_delivery(sim, 1, "always"), comment_delivery(sim, 1, "after"), clock=clock)
    w = worker(engine, recorder, clock, DEVEX_RETRY_BASE=0, DEVEX_MAX_DELIVERY_ATTEMPTS=3)
    w.drain()
    parked, after = deliveries(engine)
    assert parked["status"] == "failed" and parked["attempts"] == 3 and parked["payload"]
    # Kept for an operator; it no longer holds up its issue.
    assert after["status"] == "done" and recorder.applied == ["after"]
    with Session(engine) as session:
        assert inbox.retry_failed(session) == 1
        session.commit()
    recorder.fail["always"] = 0
    clock.advance(days=3650)  # retry_failed makes it due at the wall clock's now
    w.drain()
    assert recorder.applied == ["after", "always"]


def test_an_unreadable_stored_payload_is_parked_not_a_worker_stuck_forever(engine, sim, clock):
    """A row whose payload cannot be read must fail like a handler, not raise out of the worker
    (it would then be claimed first again and again, and nothing else would ever run)."""
    recorder = Recorder()
    good = comment_delivery(sim, 2, "good")
    bad = comment_delivery(sim, 1, "bad")
    bad = type(bad)(**{**bad.__dict__, "payload": "\ufeff" + bad.payload})  # a BOM: json.loads refuses it
    store(engine, bad, good, clock=clock)
    w = worker(engine, recorder, clock, DEVEX_RETRY_BASE=0, DEVEX_MAX_DELIVERY_ATTEMPTS=2)
    w.drain()
    assert recorder.applied == ["good"]
    assert [r["status"] for r in deliveries(engine)] == ["failed", "done"]


# ------------------------------------------------------------------ the real handlers


def installation_event(action: str, event: str = "installation") -> tuple[str, dict]:
    data = payload(event, action)
    data["installation"]["id"] = INSTALLATION
    data["installation"]["account"]["login"] = "octo-org"
    return event, data


def test_installation_events_keep_installations_and_repositories_current(harness, engine):
    harness.act(installation_event("created"))
    harness.run()
    with Session(engine) as session:
        assert session.get(Installation, INSTALLATION).status == "active"
        assert session.get(InstallationRepository, (INSTALLATION, "Codertocat/Hello-World")) is not None
    harness.act(installation_event("added", "installation_repositories"))
    harness.run()
    with Session(engine) as session:
        assert session.get(InstallationRepository, (INSTALLATION, "Codertocat/Space")) is not None
    event, data = installation_event("removed", "installation_repositories")
    data["repositories_removed"][0]["full_name"] = "Codertocat/Hello-World"
    harness.act((event, data))
    harness.run()
    with Session(engine) as session:
        assert session.get(InstallationRepository, (INSTALLATION, "Codertocat/Hello-World")) is None
        assert session.get(InstallationRepository, (INSTALLATION, "Codertocat/Space")) is not None
    harness.act(installation_event("suspend"))
    harness.run()
    with Session(engine) as session:
        assert session.get(Installation, INSTALLATION).status == "suspended"
    harness.act(installation_event("deleted"))
    harness.run()
    with Session(engine) as session:
        assert session.get(Installation, INSTALLATION).status == "deleted"
    assert set(statuses(engine)) == {"done"}


def test_ping_is_answered_and_handled(harness, engine):
    response = harness.post("ping", json.dumps(payload("ping")).encode(), None)
    assert response.status_code == 401  # unsigned: refused like anything else
    data = payload("ping", "with-app_id")
    body = json.dumps(data).encode()
    response = harness.post("ping", body, {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "ping-1", "X-Hub-Signature-256": sign(body)})
    assert response.status_code == 202
    harness.run()
    [row] = deliveries(engine)
    assert row["event"] == "ping" and row["status"] == "done"


@pytest.mark.parametrize("action", ["deleted", "suspend"])
def test_deliveries_of_an_inactive_installation_are_ignored_and_make_no_call(harness, sim, engine, action):
    number = open_opportunity(harness)
    harness.act(installation_event(action))
    harness.run()
    calls = len(sim.requests)
    harness.comment(number, "bidder-bob", "/register")
    assert len(sim.requests) == calls
    assert deliveries(engine)[-1]["status"] == "ignored"
    assert not any("bidder-bob" in body for body in harness.bot_comments(number))
    # The scheduler's deadline is not acted on either.
    harness.clock.advance(days=40)
    harness.run()
    assert len(sim.requests) == calls


def test_writes_queued_before_a_suspension_wait_for_the_unsuspend(harness, sim, engine):
    number = open_opportunity(harness)
    harness.act(sim.human_comment(REPO, number, "bidder-bob", "/register"))
    harness.act(installation_event("suspend"))
    harness.run()
    assert not any("@bidder-bob" in body for body in harness.bot_comments(number))
    harness.act(installation_event("unsuspend"))
    harness.run()
    assert sum("@bidder-bob" in body for body in harness.bot_comments(number)) == 1
