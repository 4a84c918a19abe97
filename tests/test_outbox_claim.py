"""The sender's claim of a batch, and the statements compiled once to the driver's SQL.

A batch is the installation's next writes in order, as long as each is due and
no worker holds it (folding a newer state into a named write): the batch ends
before the first that is not, and a held head is tried again later, never
skipped past. Leasing the batch takes the named writes out of coalescing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bot.github import requests as gw
from storage import outbox, outbox_ids
from storage.compiled import DriverStatement
from storage.outbox import Write
from storage.procurement import opportunity_by_issue, record
from storage.tables import AuditEvent, GitHubWrite, Installation, Opportunity, utcnow
from tests.conftest import INSTALLATION, REPO, end_session_of


def _queue(engine, *writes: Write, ago: float = 5.0) -> list[int]:
    now = utcnow()
    with Session(engine) as session:
        session.add(Installation(id=INSTALLATION, account="octo-org"))
        for write in writes:
            outbox.enqueue(session, write, now=now - timedelta(seconds=ago))
        session.commit()
        return list(session.exec(sa.select(GitHubWrite.id).order_by(GitHubWrite.id)).scalars())


def _claimed_ids(engine, limit: int):
    with Session(engine) as session:
        claimed = outbox.claim_writes(session, 0, utcnow(), limit)
        ids = None if claimed is None else [w.id for w in claimed[1]]
        session.rollback()
    return ids


def test_a_batch_is_the_installations_next_writes_in_order_up_to_the_limit(engine):
    ids = _queue(engine, *(gw.comment(INSTALLATION, REPO, 1, f"reply {i}") for i in range(5)))
    assert _claimed_ids(engine, 3) == ids[:3]
    assert _claimed_ids(engine, 20) == ids
    assert _claimed_ids(engine, 1) == ids[:1]


def test_a_batch_ends_before_a_write_that_is_not_due(engine):
    ids = _queue(engine, *(gw.comment(INSTALLATION, REPO, 1, f"reply {i}") for i in range(4)))
    with Session(engine) as session:
        session.get(GitHubWrite, ids[2]).next_attempt_at = utcnow() + timedelta(minutes=5)  # a retry's backoff
        session.commit()
    assert _claimed_ids(engine, 20) == ids[:2]


def test_a_priority_write_goes_first_and_alone_with_its_own_kind(engine):
    ids = _queue(engine, gw.comment(INSTALLATION, REPO, 1, "plain"), Write(INSTALLATION, method="POST", path=f"repos/{REPO}/issues/1/comments", body={"body": "urgent"}, priority=5))
    assert _claimed_ids(engine, 20) == [ids[1]]


def test_leasing_a_batch_takes_it_out_of_coalescing_and_makes_it_not_due(engine):
    key = "summary:1"
    ids = _queue(engine, gw.comment(INSTALLATION, REPO, 1, "reply"), Write(INSTALLATION, kind="summary", coalesce_key=key))
    now = utcnow()
    with Session(engine) as session:
        installation, writes = outbox.claim_writes(session, 0, now, 20)
        outbox.lease(session, installation, writes, 60, now)
        session.commit()
    assert _claimed_ids(engine, 20) is None  # leased: not due for a minute
    with Session(engine) as session:
        rows = {w.id: w for w in session.exec(sa.select(GitHubWrite)).scalars()}
        assert rows[ids[1]].coalesce_key is None and rows[ids[1]].next_attempt_at > now + timedelta(seconds=59)
        # A new change needs a write of its own: nothing pending takes it in.
        assert outbox.enqueue(session, Write(INSTALLATION, kind="summary", coalesce_key=key), now=now) is True
        session.commit()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_a_worker_holds_ends_the_batch_and_a_held_head_is_not_skipped_past(engine):
    """A worker folding a newer state into a named write holds its row (FOR UPDATE) until it
    commits: the sender sends nothing at or after it meanwhile (PostgreSQL's row locks)."""
    ids = _queue(engine, gw.comment(INSTALLATION, REPO, 1, "first"), Write(INSTALLATION, kind="summary", coalesce_key="summary:1"), gw.comment(INSTALLATION, REPO, 1, "after"))
    with engine.connect() as worker:
        worker.execute(sa.text("SELECT id FROM github_writes WHERE id = :id FOR UPDATE"), {"id": ids[1]})
        assert _claimed_ids(engine, 20) == ids[:1]
        worker.rollback()
    with engine.connect() as worker:
        worker.execute(sa.text("SELECT id FROM github_writes WHERE id = :id FOR UPDATE"), {"id": ids[0]})
        assert _claimed_ids(engine, 20) is None
        worker.rollback()
    assert _claimed_ids(engine, 20) == ids


def test_a_statement_compiled_for_the_driver_stores_what_sqlalchemy_would(engine):
    """An audit event recorded through the compiled statement reads back as Core's own
    insert of the same values (the timestamp through its column type, on SQLite as text)."""
    at = utcnow().replace(microsecond=123456)
    with Session(engine) as session:
        record(session, kind="bid_recorded", actor="bob", opportunity_id=7, at=at, delivery_id="d-1", url=None, amount=Decimal("12.50"))
        session.connection().execute(
            sa.insert(AuditEvent.__table__),
            {"opportunity_id": 7, "actor": "bob", "kind": "bid_recorded", "detail": json.dumps({"amount": "12.50"}), "delivery_id": "d-1", "url": None, "at": at},
        )
        session.commit()
    with engine.connect() as connection:
        raw = connection.execute(sa.text("SELECT actor, kind, detail, delivery_id, url, at FROM audit_events ORDER BY id")).all()
    assert raw[0] == raw[1]
    with Session(engine) as session:
        events = list(session.exec(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars())
    assert events[0].at == at and events[0].at.tzinfo is not None
    assert json.loads(events[0].detail) == {"amount": "12.50"}


def test_a_statement_given_a_value_it_does_not_take_is_refused_before_it_reaches_the_database(engine):
    """A key the compiled statement has no parameter for is a programming error, said at
    its first use, not a value silently dropped."""
    statement = DriverStatement(sa.update(AuditEvent.__table__).where(AuditEvent.__table__.c.id == sa.bindparam("row")).values(url=sa.bindparam("new_url")))
    with Session(engine) as session:
        with pytest.raises(ValueError, match="it is given"):
            statement.execute(session.connection(), {"row": 1, "new_link": "https://example.test"})
        session.rollback()


def test_a_value_the_statement_has_no_place_for_is_refused_not_dropped(engine):
    from storage.procurement import _AUDIT_INSERT

    values = {"opportunity_id": 7, "actor": "bob", "kind": "k", "detail": "{}", "delivery_id": None, "url": None, "at": utcnow()}
    with Session(engine) as session:
        _AUDIT_INSERT.execute(session.connection(), values)  # every key it takes: stored
        with pytest.raises(ValueError, match="it is given"):
            _AUDIT_INSERT.execute(session.connection(), {**values, "note": "would be dropped"})
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1


def _audit_values(**changes) -> dict:
    return {"opportunity_id": 7, "actor": "bob", "kind": "k", "detail": "{}", "delivery_id": None, "url": None, "at": utcnow(), **changes}


def test_a_compiled_statement_the_database_refuses_raises_sqlalchemys_error_and_the_transaction_goes_on_after_a_rollback(engine):
    """Run on the driver's cursor, a compiled statement still fails as SQLAlchemy's would:
    an `IntegrityError` (a `DBAPIError`) holding the driver's own error, so the worker's
    handling of database errors is unchanged; the session then rolls back and goes on."""
    from storage.procurement import _AUDIT_INSERT

    with Session(engine) as session:
        with pytest.raises(sa.exc.IntegrityError) as refused:
            _AUDIT_INSERT.execute(session.connection(), _audit_values(actor=None))
        assert isinstance(refused.value, sa.exc.DBAPIError)
        assert isinstance(refused.value.orig, engine.dialect.loaded_dbapi.Error)
        assert "INSERT INTO audit_events" in refused.value.statement
        session.rollback()
        _AUDIT_INSERT.execute(session.connection(), _audit_values())
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1


def test_a_compiled_statement_runs_in_its_connections_transaction_begun_when_there_is_none(engine):
    """On a connection outside any transaction, the statement begins one (as SQLAlchemy's
    autobegin does): closed without a commit, nothing of it stays; committed, it does."""
    from storage.procurement import _AUDIT_INSERT

    with engine.connect() as connection:
        _AUDIT_INSERT.execute(connection, _audit_values(actor="not-kept"))
        assert connection.in_transaction()
    with engine.connect() as connection:
        _AUDIT_INSERT.execute(connection, _audit_values(actor="kept"))
        connection.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT actor FROM audit_events")).scalars().all() == ["kept"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_deadlock_met_by_a_compiled_statement_is_one_the_worker_runs_again(engine):
    """Two transactions locking two rows in crossed order through compiled statements:
    PostgreSQL aborts one, and its error is the one `try_again` recognises."""
    import threading

    from storage.db import try_again

    lock_row = DriverStatement(sa.select(Installation.__table__.c.id).where(Installation.__table__.c.id == sa.bindparam("row")).with_for_update())
    with Session(engine) as session:
        session.add_all([Installation(id=81, account="a"), Installation(id=82, account="b")])
        session.commit()
    both_hold_one = threading.Barrier(2)
    errors: list = []

    def cross(first: int, second: int) -> None:
        with engine.connect() as connection:
            try:
                connection.exec_driver_sql("SET LOCAL deadlock_timeout = '50ms'")
                assert lock_row.execute(connection, {"row": first}).scalar() == first
                both_hold_one.wait(10)
                lock_row.execute(connection, {"row": second})
                connection.rollback()
            except sa.exc.DBAPIError as error:
                errors.append(error)
                connection.rollback()

    threads = [threading.Thread(target=cross, args=pair) for pair in ((81, 82), (82, 81))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(errors) == 1 and try_again(errors[0])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_found_dropped_by_a_compiled_statement_is_invalidated_not_pooled_again(engine):
    """The server ended the connection: the statement's error says the connection was
    invalidated, and the next checkout gets a working one."""
    from storage.procurement import _AUDIT_INSERT

    with engine.connect() as connection:
        end_session_of(engine, connection)
        with pytest.raises(sa.exc.DBAPIError) as dropped:
            _AUDIT_INSERT.execute(connection, _audit_values())
        assert dropped.value.connection_invalidated
    with engine.connect() as connection:
        _AUDIT_INSERT.execute(connection, _audit_values())
        connection.commit()
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1


def test_a_sent_write_records_its_attempt_and_answer_and_spaces_its_installations_next_write(engine):
    """Marked sent by statements built once: the row says sent, when, after how many
    attempts and with what answer, keeps the error of an earlier attempt, and the
    installation's last write is the time (its next is spaced from it); nothing is left
    for the session to flush."""
    ids = _queue(engine, gw.comment(INSTALLATION, REPO, 1, "reply"))
    at = utcnow().replace(microsecond=250000)
    with Session(engine) as session:
        write = session.get(GitHubWrite, ids[0])
        write.attempts, write.last_error = 2, "GitHub answered 502"
        session.commit()
        installation = session.get(Installation, INSTALLATION)
        write = session.get(GitHubWrite, ids[0])
        outbox.mark_sent(session, installation, write, {"status": 201, "id": 55}, at)
        assert not session.dirty
        session.commit()
    with Session(engine) as session:
        row = session.get(GitHubWrite, ids[0])
        assert (row.status, row.attempts, row.last_error, row.sent_at) == ("sent", 3, "GitHub answered 502", at)
        assert json.loads(row.result) == {"status": 201, "id": 55}
        assert session.get(Installation, INSTALLATION).last_write_at == at
        assert outbox.pending_count(session) == 0


def test_a_batch_of_sent_writes_each_records_its_own_answer_in_one_call_to_the_driver(engine):
    """A sender's batch marked sent together: each row its own attempts, error and
    answer, the installation's last write the time they were recorded; a statement that
    returns rows is refused by the batch call, not run."""
    ids = _queue(engine, *(gw.comment(INSTALLATION, REPO, 1, f"reply {i}") for i in range(3)))
    at = utcnow().replace(microsecond=500000)
    with Session(engine) as session:
        session.get(GitHubWrite, ids[1]).attempts = 4
        session.get(GitHubWrite, ids[1]).last_error = "GitHub answered 503"
        session.commit()
        installation = session.get(Installation, INSTALLATION)
        writes = [session.get(GitHubWrite, i) for i in ids]
        outbox.mark_all_sent(session, installation, [(w, {"status": 201, "id": 100 + n}) for n, w in enumerate(writes)], at)
        assert not session.dirty
        assert [w.status for w in writes] == ["sent"] * 3
        session.commit()
    with Session(engine) as session:
        rows = [session.get(GitHubWrite, i) for i in ids]
        assert [(r.status, r.attempts, r.last_error, r.sent_at) for r in rows] == [
            ("sent", 1, None, at), ("sent", 5, "GitHub answered 503", at), ("sent", 1, None, at)
        ]
        assert [json.loads(r.result)["id"] for r in rows] == [100, 101, 102]
        assert session.get(Installation, INSTALLATION).last_write_at == at
    with engine.connect() as connection, pytest.raises(TypeError):
        DriverStatement(sa.select(GitHubWrite.id)).execute_many(connection, [{}])


def test_a_deliverys_writes_are_stored_in_the_order_queued_its_named_one_at_once(engine):
    """A handler's writes without a key wait to be stored together; one with a key (the
    summary) is stored at once, after those queued before it, so a look for it finds it;
    every row in the order queued (the sender's order)."""
    import logging

    from bot.pipeline.context import Context
    from bot.settings import Settings

    _queue(engine)  # the installation
    now = utcnow()
    with Session(engine) as session:
        ctx = Context(
            delivery_id="d-1", event="issue_comment", action="created", payload={}, installation_id=INSTALLATION, repository=REPO,
            session=session, github=None, settings=Settings(), now=now, received_at=now, log=logging.LoggerAdapter(logging.getLogger(__name__), {}),
        )  # fmt: skip
        ctx.write(gw.delete_sealed_bid(INSTALLATION, REPO, 11))
        assert outbox.pending_count(session) == 0  # not yet
        ctx.write(Write(INSTALLATION, kind="summary", body={"n": 1}, coalesce_key="summary:1"))
        assert outbox.hold_pending_named(session, "summary:1")
        ctx.write(gw.comment(INSTALLATION, REPO, 1, "reply"))
        ctx.write(gw.comment(INSTALLATION, REPO, 1, "second reply"))
        ctx.store_writes()
        session.commit()
    with Session(engine) as session:
        rows = list(session.exec(sa.select(GitHubWrite).order_by(GitHubWrite.id)).scalars())
        assert [(r.kind, r.method, json.loads(r.body).get("body") if r.body else None) for r in rows] == [
            ("request", "DELETE", None), ("summary", None, None), ("request", "POST", "reply"), ("request", "POST", "second reply")
        ]
        assert {r.delivery_id for r in rows} == {"d-1"}
    with Session(engine) as session, pytest.raises(ValueError):
        outbox.enqueue_all(session, [Write(INSTALLATION, kind="summary", coalesce_key="summary:1")], None, now)


def _an_opportunity(**fields) -> Opportunity:
    values = dict(
        installation_id=INSTALLATION, repository=REPO, issue_number=7, title="Accessible forms", html_url=f"https://github.test/{REPO}/issues/7",
        author="pm-alice", state="open", value=Decimal("9999.00"), deadline=utcnow().replace(microsecond=0) + timedelta(days=3),
        bidding="sealed", amounts_include_tax=True, review_repository_private=False, summary_comment_id=2**40, repository_private=None,
        contract_value=None, timezone="America/Halifax",
    )
    values.update(fields)
    return Opportunity(**values)


def test_the_opportunity_a_command_locks_is_the_object_a_query_would_load(engine):
    """Read by a compiled statement and made the session's object: every value as the ORM
    reads it (exact money, aware UTC times, booleans, what is empty), nothing to flush,
    and a change to it flushed like any loaded object's."""
    with Session(engine) as session:
        session.add(_an_opportunity())
        session.commit()
    columns = [column.key for column in Opportunity.__table__.columns]
    with Session(engine) as session:
        expected = session.exec(sa.select(Opportunity).where(Opportunity.issue_number == 7)).scalar_one()
        expected = {name: getattr(expected, name) for name in columns}
    with Session(engine) as session:
        locked = opportunity_by_issue(session, REPO, 7, lock=True)
        got = {name: getattr(locked, name) for name in columns}
        assert got == expected
        assert {name: type(value) for name, value in got.items()} == {name: type(value) for name, value in expected.items()}
        assert isinstance(got["value"], Decimal) and got["deadline"].utcoffset() == timedelta(0)
        assert got["amounts_include_tax"] is True and got["review_repository_private"] is False and got["repository_private"] is None
        assert sa.inspect(locked).persistent and not session.dirty and not session.new
        assert opportunity_by_issue(session, REPO, 7, lock=True) is locked  # the identity map's, as a query gives it
        assert session.get(Opportunity, locked.id) is locked
        assert opportunity_by_issue(session, REPO, 8, lock=True) is None
        locked.state = "closed"
        session.commit()
    with Session(engine) as session:
        assert session.get(Opportunity, expected["id"]).state == "closed"


def test_the_opportunity_already_in_the_session_is_the_one_a_command_gets(engine):
    with Session(engine) as session:
        session.add(_an_opportunity())
        session.commit()
    with Session(engine) as session:
        loaded = session.exec(sa.select(Opportunity).where(Opportunity.issue_number == 7)).scalar_one()
        loaded.title = "changed, not yet flushed"
        assert opportunity_by_issue(session, REPO, 7, lock=True) is loaded
        assert loaded.title == "changed, not yet flushed"  # as the ORM leaves it without populate_existing
        # and flushed first, as a query autoflushes
        assert session.connection().execute(sa.text("SELECT title FROM opportunities WHERE issue_number = 7")).scalar_one() == "changed, not yet flushed"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("count", [3, outbox_ids.COMPILED_READ_MAX + 3])
def test_a_held_write_ends_the_batch_whichever_way_its_writes_are_read(engine, count):
    """A few writes are read by a compiled statement, many by the ORM: either way a write a
    worker holds ends the batch before it."""
    ids = _queue(engine, *[gw.comment(INSTALLATION, REPO, 1, f"reply {i}") for i in range(count)])
    with engine.connect() as worker:
        worker.execute(sa.text("SELECT id FROM github_writes WHERE id = :id FOR UPDATE"), {"id": ids[-2]})
        assert _claimed_ids(engine, 20) == ids[:-2]
        worker.rollback()
    assert _claimed_ids(engine, 20) == ids


@pytest.mark.parametrize("count", [1, outbox_ids.COMPILED_READ_MAX + 1])
def test_writes_reloaded_are_as_the_database_holds_them_now(engine, count):
    """The sender records GitHub's answers on its writes as they are now: an object the
    session already holds is given the row's values (whichever way they are read)."""
    ids = _queue(engine, *[gw.comment(INSTALLATION, REPO, 1, f"reply {i}") for i in range(count)])
    with Session(engine) as session:
        held = outbox.reload(session, ids)
        assert sorted(held) == ids and all(w.status == "pending" for w in held.values())
        # changed behind the objects' back (a statement of its own, as another process would)
        session.connection().execute(sa.text("UPDATE github_writes SET status = 'refused', attempts = 3"))
        assert {w.status for w in held.values()} == {"pending"}
        again = outbox.reload(session, ids)
        assert all(again[i] is held[i] for i in ids)
        assert {(w.status, w.attempts) for w in again.values()} == {("refused", 3)}
        assert not session.dirty


def test_a_statement_whose_rows_it_cannot_tell_is_refused_not_run():
    """A compiled statement knows whether it returns rows from what it is (a SELECT, or DML
    with RETURNING): raw SQL, which could be either, is refused before it reaches the database."""
    with pytest.raises(TypeError, match="SELECT, an INSERT"):
        DriverStatement(sa.text("SELECT 1"))
