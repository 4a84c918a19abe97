"""On PostgreSQL, a compiled statement in the middle of a transaction runs straight
through libpq (storage/libpq.py): the rows, the errors and a dropped connection are
what psycopg's cursor gives, and psycopg's rollbacks (which deallocate every prepared
statement) do not leave it running a statement the server no longer has; a background
transaction begins deferred in one round trip."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from storage.compiled import DriverStatement
from storage.procurement import _AUDIT_INSERT
from storage.tables import AuditEvent, utcnow
from tests.conftest import end_session_of

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

_EVENTS = AuditEvent.__table__
_READ = DriverStatement(
    sa.select(_EVENTS.c.id, _EVENTS.c.opportunity_id, _EVENTS.c.actor, _EVENTS.c.detail, _EVENTS.c.url, _EVENTS.c.at)
    .where(_EVENTS.c.actor == sa.bindparam("actor"), _EVENTS.c.at >= sa.bindparam("since"))
    .order_by(_EVENTS.c.id)
)


def _values(**changes) -> dict:
    return {"opportunity_id": 7, "actor": "bob", "kind": "k", "detail": '{"amount": "12.50", "note": "100 %"}', "delivery_id": None, "url": None, "at": utcnow(), **changes}


def _ours(connection) -> list[str]:
    """The statements this connection's server session holds prepared through libpq."""
    return connection.exec_driver_sql("SELECT name FROM pg_prepared_statements WHERE name LIKE 'devex%%' ORDER BY name").scalars().all()


def test_a_statement_through_libpq_reads_what_the_cursor_reads(engine):
    at = utcnow().replace(microsecond=123456)
    big = 2**20  # a value psycopg dumps as another integer type (int4) than a small one (int2)
    with engine.connect() as connection:
        for opportunity in (7, big, 8):
            _AUDIT_INSERT.execute(connection, _values(opportunity_id=opportunity, at=at))
        connection.commit()
        since = at - timedelta(seconds=1)
        first = _READ.execute(connection, {"actor": "bob", "since": since}).rows  # a cursor: its rows' types learnt
        before = _ours(connection)  # the insert's (it returns no rows: libpq from its first run)
        again = _READ.execute(connection, {"actor": "bob", "since": since}).rows  # libpq
        assert len(_ours(connection)) == len(before) + 1
        core = connection.execute(sa.select(_EVENTS.c.id, _EVENTS.c.opportunity_id, _EVENTS.c.actor, _EVENTS.c.detail, _EVENTS.c.url, _EVENTS.c.at).order_by(_EVENTS.c.id)).all()
    assert again == first == [tuple(row) for row in core]
    assert [row[1] for row in again] == [7, big, 8] and again[0][3] == '{"amount": "12.50", "note": "100 %"}'
    assert again[0][4] is None and again[0][5] == at and again[0][5].tzinfo is not None


def test_after_psycopg_deallocates_every_prepared_statement_the_statement_is_prepared_again(engine):
    """A rollback makes psycopg drop the server's prepared statements (its own and these):
    the next run prepares the statement again, under a new name, and gives its rows."""
    since = utcnow() - timedelta(seconds=1)
    with engine.connect() as connection:
        _AUDIT_INSERT.execute(connection, _values())
        connection.commit()
        for _ in range(7):  # enough for psycopg to prepare its own statements too
            connection.execute(sa.select(_EVENTS.c.id).where(_EVENTS.c.actor == "bob")).all()
            assert len(_READ.execute(connection, {"actor": "bob", "since": since}).rows) == 1
        held = _ours(connection)
        assert held
        connection.rollback()
        assert _ours(connection) == []  # deallocated with psycopg's own
        connection.exec_driver_sql("SELECT 1")
        assert len(_READ.execute(connection, {"actor": "bob", "since": since}).rows) == 1
        assert _ours(connection) and set(_ours(connection)).isdisjoint(held)


def test_a_statement_the_database_refuses_through_libpq_raises_sqlalchemys_error(engine):
    with Session(engine) as session:
        connection = session.connection()
        _AUDIT_INSERT.execute(connection, _values(actor="kept"))  # the transaction begun: what follows goes through libpq
        with pytest.raises(sa.exc.IntegrityError) as refused:
            _AUDIT_INSERT.execute(connection, _values(actor=None))
        assert isinstance(refused.value.orig, engine.dialect.loaded_dbapi.Error)
        assert refused.value.orig.sqlstate == "23502"  # not_null_violation, as the cursor says it
        assert "INSERT INTO audit_events" in refused.value.statement
        session.rollback()
        _AUDIT_INSERT.execute(session.connection(), _values(actor="after"))
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT actor FROM audit_events")).scalars().all() == ["after"]


def test_a_connection_dropped_under_a_statement_through_libpq_is_invalidated(engine):
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # in a transaction now
        _AUDIT_INSERT.execute(connection, _values())
        end_session_of(engine, connection)
        with pytest.raises(sa.exc.DBAPIError) as dropped:
            _AUDIT_INSERT.execute(connection, _values())
        assert dropped.value.connection_invalidated
    with engine.connect() as connection:
        _AUDIT_INSERT.execute(connection, _values())
        connection.commit()
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 1


def _round_trips(connection, work) -> tuple[int, object]:
    """The round trips to the server `work(connection)` takes (libpq's trace: each
    ReadyForQuery the server sends ends one), and what it returned."""
    import tempfile

    from psycopg import pq

    pgconn = connection.connection.dbapi_connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            result = work(connection)
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    return sum(1 for line in lines if line.startswith("B\t") and "\tReadyForQuery" in line), result


def test_a_background_transaction_begins_deferred_in_one_round_trip_and_commits(engine):
    """The worker's and the sender's transactions commit without waiting for the disk
    (`SET LOCAL synchronous_commit TO OFF`), sent with psycopg's BEGIN in one round trip,
    not two; what they commit is committed, and intake's durable transactions still wait."""
    from storage.db import durable, redoable

    background = redoable(engine)
    with background.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # the connection checked out (and pinged) before counting

        def deferred_insert(connection):
            connection.begin()
            level = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
            _AUDIT_INSERT.execute(connection, _values(actor="deferred"))
            connection.commit()
            return level

        connection.commit()
        trips, level = _round_trips(connection, deferred_insert)
    assert level == "off"
    # BEGIN with its SET LOCAL, SHOW, the insert (prepared, then run: libpq from its first
    # run, as it returns no rows), COMMIT; with BEGIN and SET LOCAL apart, one more.
    assert trips == 5, trips
    with durable(engine).connect() as connection:
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_events WHERE actor = 'deferred'").scalar() == 1


def test_a_connection_dropped_before_a_background_transaction_begins_is_invalidated(engine):
    """The server gone between the pool's ping and the BEGIN: SQLAlchemy's error, the
    connection invalidated (the pool makes a new one), the next transaction as usual."""
    from storage.db import redoable

    background = redoable(engine)
    with background.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # the connection checked out (and pinged)
        connection.commit()
        end_session_of(engine, connection)
        with pytest.raises(sa.exc.DBAPIError) as dropped:
            connection.begin()
        assert dropped.value.connection_invalidated
    with background.connect() as connection:
        _AUDIT_INSERT.execute(connection, _values(actor="after"))
        connection.commit()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_events WHERE actor = 'after'").scalar() == 1


def test_polls_that_find_nothing_leave_the_prepared_statements_for_the_next_bid(make_harness):
    """psycopg deallocates every prepared statement at a rollback. The worker's and the
    sender's polls that find nothing end with a commit, so the next bid finds the
    statements the bids before it prepared and prepares none again."""
    import re

    from storage import libpq
    from tests.flows import open_opportunity

    def prepared_so_far() -> int:
        return int(re.search(r"\d+", repr(libpq._names)).group())

    harness = make_harness()
    number = open_opportunity(harness, title="Prepared once")
    bidders = ("bidder-a", "bidder-b", "bidder-c")
    for bidder in bidders:
        harness.comment(number, bidder, "/register")
    # Two bids: a statement that returns rows runs on a cursor the first time, then through libpq.
    for amount, bidder in zip(("8,000.00", "8,250.00"), bidders):
        harness.comment(number, bidder, f"/bid {amount}\nA proposal.")
        harness.runtime.sender.drain()
    before = prepared_so_far()
    for _ in range(3):  # nothing to claim, nothing due
        assert harness.runtime.worker.run_once() == 0
        assert harness.runtime.sender.run_once() == 0
    harness.comment(number, bidders[2], "/bid 8,500.00\nThe third proposal.")
    harness.runtime.sender.drain()
    assert prepared_so_far() == before, "statements prepared again after polls that found nothing"


def test_rows_run_together_through_libpq_are_written_in_their_order_in_one_round_trip(engine):
    """`execute_many` in the middle of a transaction: libpq's pipeline, every row's
    statement sent before one wait for the server; the rows are what the cursor's
    `executemany` writes, in the order given (the sender sends the outbox in id order),
    values of other types (NULL, a larger integer) included."""
    big = 2**20
    rows = [_values(actor="first"), _values(actor="second", url=None, opportunity_id=big), _values(actor="third", url="https://example.test/3")]
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # in a transaction now
        _AUDIT_INSERT.execute_many(connection, rows)  # each of the rows' types prepared once
        trips, _ = _round_trips(connection, lambda c: _AUDIT_INSERT.execute_many(c, [_values(actor=f"again {i}") for i in range(5)]))
        connection.commit()
        written = connection.execute(sa.text("SELECT actor, opportunity_id, url FROM audit_events ORDER BY id")).all()
    assert trips == 1, trips
    assert [tuple(row) for row in written] == [
        ("first", 7, None), ("second", big, None), ("third", 7, "https://example.test/3"), *[(f"again {i}", 7, None) for i in range(5)]
    ]  # fmt: skip


def test_a_row_the_database_refuses_among_rows_run_together_raises_sqlalchemys_error_and_keeps_none(engine):
    with Session(engine) as session:
        connection = session.connection()
        _AUDIT_INSERT.execute(connection, _values(actor="before"))
        with pytest.raises(sa.exc.IntegrityError) as refused:
            _AUDIT_INSERT.execute_many(connection, [_values(actor="kept?"), _values(actor=None), _values(actor="after it")])
        assert refused.value.orig.sqlstate == "23502"  # not_null_violation, as the cursor says it
        assert "INSERT INTO audit_events" in refused.value.statement
        session.rollback()
        _AUDIT_INSERT.execute_many(session.connection(), [_values(actor="next 1"), _values(actor="next 2")])  # the connection as usual
        session.commit()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT actor FROM audit_events ORDER BY id")).scalars().all() == ["next 1", "next 2"]


def test_a_connection_dropped_under_rows_run_together_is_invalidated(engine):
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        _AUDIT_INSERT.execute_many(connection, [_values(), _values()])
        end_session_of(engine, connection)
        with pytest.raises(sa.exc.DBAPIError) as dropped:
            _AUDIT_INSERT.execute_many(connection, [_values(), _values()])
        assert dropped.value.connection_invalidated
    with engine.connect() as connection:
        _AUDIT_INSERT.execute_many(connection, [_values(), _values()])
        connection.commit()
        assert connection.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 2


def _one_connection_pool(engine):
    """An engine of the bot's (storage.db.make_engine) on the same database, whose pool holds
    one connection: each checkout hands out the connection the last one gave back."""
    from storage.db import make_engine

    return make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)


def _readable(fd) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])


def _frontend_messages(pgconn, work) -> list[str]:
    """What the client sends the server while `work()` runs (libpq's trace)."""
    import tempfile

    from psycopg import pq

    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return [line for line in trace.read().decode().splitlines() if line.startswith("F\t")]


def _messages_at_checkout(engine) -> list[str]:
    """What the client sends the server while the pool hands out again the connection it
    was just given back (a pool of one connection)."""
    pooled = _one_connection_pool(engine)
    try:
        with pooled.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            connection.commit()
            pgconn = connection.connection.dbapi_connection.pgconn

        def checkout():
            with pooled.connect() as again:
                assert again.connection.dbapi_connection.pgconn is pgconn  # the same connection, from the pool

        return _frontend_messages(pgconn, checkout)
    finally:
        pooled.dispose()


def test_the_pools_check_of_an_open_idle_connection_asks_the_server_nothing(engine):
    """Before it hands a connection out, the pool checks that it is open: without a round
    trip when nothing came from the server since its last answer."""
    assert _messages_at_checkout(engine) == []


def test_a_connection_whose_session_the_server_ended_in_the_pool_is_replaced_at_checkout(engine):
    """A restart or an idle timeout ends a pooled connection's session: the server says so
    and closes it, the pool's check finds it closed (asking the server, as before), and
    the transaction that takes it runs on a new connection."""
    import time

    pooled = _one_connection_pool(engine)
    try:
        with pooled.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            connection.commit()
            first = connection.connection.dbapi_connection
            pid = first.info.backend_pid
        with engine.connect() as other:  # while it waits in the pool
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _readable(first.pgconn.socket):
            time.sleep(0.01)  # the server's word and its closing of the socket arrive
        with pooled.connect() as connection:
            _AUDIT_INSERT.execute(connection, _values(actor="after the restart"))
            connection.commit()
            assert connection.connection.dbapi_connection is not first
            assert connection.exec_driver_sql("SELECT actor FROM audit_events").scalars().all() == ["after the restart"]
    finally:
        pooled.dispose()


def _configs():
    from storage.pipeline_tables import RepoConfigCache

    table = RepoConfigCache.__table__
    insert = DriverStatement(sa.insert(table), ("repository", "text", "fetched_at"))
    change = DriverStatement(sa.update(table).where(table.c.repository == sa.bindparam("name")).values(text=sa.bindparam("new")))
    return insert, change


_CONFIG_INSERT, _CONFIG_CHANGE = _configs()


def _config(name: str, text="a: 1") -> dict:
    return {"repository": name, "text": text, "fetched_at": utcnow()}


def test_statements_run_together_go_in_one_round_trip_in_their_order(engine):
    """`run_together` (a bid's version, its proposal's terms and its audit event): one wait
    for the server, and each statement sees the ones before it."""
    from storage.compiled import run_together

    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        run_together(connection, [(_CONFIG_INSERT, _config("o/a")), (_CONFIG_CHANGE, {"name": "o/a", "new": "b: 2"}), (_AUDIT_INSERT, _values(actor="a"))])  # prepared

        def together(connection):
            run_together(connection, [(_CONFIG_INSERT, _config("o/c")), (_CONFIG_CHANGE, {"name": "o/c", "new": "d: 4"}), (_AUDIT_INSERT, _values(actor="c"))])

        trips, _ = _round_trips(connection, together)
        connection.commit()
        assert connection.exec_driver_sql("SELECT repository, text FROM repo_configs ORDER BY repository").all() == [("o/a", "b: 2"), ("o/c", "d: 4")]
        assert connection.exec_driver_sql("SELECT actor FROM audit_events ORDER BY id").scalars().all() == ["a", "c"]
    assert trips == 1, trips


def test_a_statement_refused_among_statements_run_together_is_the_one_named(engine):
    from storage.compiled import run_together

    with Session(engine) as session:
        connection = session.connection()
        _CONFIG_INSERT.execute(connection, _config("o/before"))
        with pytest.raises(sa.exc.IntegrityError) as refused:
            run_together(connection, [(_CONFIG_CHANGE, {"name": "o/before", "new": "x: 1"}), (_CONFIG_INSERT, _config("o/before")), (_AUDIT_INSERT, _values())])
        assert refused.value.orig.sqlstate == "23505"  # unique_violation: the second statement's
        assert refused.value.statement.startswith("INSERT INTO repo_configs")
        session.rollback()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM repo_configs").scalar() == 0
        assert connection.exec_driver_sql("SELECT count(*) FROM audit_events").scalar() == 0


def test_a_connection_idle_in_the_pool_longer_than_a_moment_is_pinged(engine, monkeypatch):
    """A peer may go without a word (a host that crashed, a failover, a firewall's idle
    expiry): a connection given back longer ago than `QUIET_FOR` is checked by asking the
    server, as before."""
    from storage import libpq

    monkeypatch.setattr(libpq, "QUIET_FOR", 0.0)  # every connection counts as idle long
    assert any("\tQuery\t" in line for line in _messages_at_checkout(engine))  # the pool's ping
