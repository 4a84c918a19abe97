"""The inbox: deliveries stored before GitHub's 2xx, claimed by workers.

A worker claims the pending delivery due first whose ordering key (the issue it
concerns) has no older pending delivery, with `FOR UPDATE SKIP LOCKED` on
PostgreSQL, and handles it inside that same transaction: the delivery's
effects, the GitHub writes it owes and its `done` mark commit together or not
at all. A worker killed half-way leaves the row pending and unchanged, so the
next worker applies it exactly once; a second worker skips the locked row and,
because the older row is still pending, every later row of the same issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Optional, Union

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from storage.compiled import ObjectStatement, table_row
from storage.tables import Delivery, utcnow


@dataclass(frozen=True)
class NewDelivery:
    delivery_id: str
    event: str
    action: Optional[str]
    installation_id: Optional[int]
    repository: Optional[str]
    ordering_key: str
    payload: str


def store(session: Session, delivery: NewDelivery, now: Optional[datetime] = None) -> bool:
    """Stores a delivery once; False when this delivery id was stored before."""
    now = now or utcnow()
    exists = session.exec(select(Delivery.id).where(Delivery.delivery_id == delivery.delivery_id)).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                Delivery(
                    delivery_id=delivery.delivery_id,
                    event=delivery.event,
                    action=delivery.action,
                    installation_id=delivery.installation_id,
                    repository=delivery.repository,
                    ordering_key=delivery.ordering_key,
                    payload=delivery.payload,
                    received_at=now,
                    next_attempt_at=now,
                )
            )
    except IntegrityError:
        # Another process stored the same delivery id between our look and our insert.
        return False
    return True


# The columns intake writes, in the order of each row's parameters.
_STORE_COLUMNS = (
    "delivery_id", "event", "action", "installation_id", "repository", "ordering_key", "payload",
    "status", "attempts", "received_at", "next_attempt_at",
)
_STORE_SQL: dict[tuple[str, int], str] = {}


def _store_sql(dialect: sa.Dialect, rows: int) -> str:
    """`INSERT INTO deliveries (...) VALUES (...), ... ON CONFLICT (delivery_id) DO NOTHING
    RETURNING delivery_id` for `rows` rows, compiled by SQLAlchemy once per dialect and
    batch size and cached: intake then costs the database's own work and little more
    (SQLAlchemy's per-execution cache look-up, parameter processing and result set
    were about 100 us a delivery, a third of intake's CPU)."""
    key = (dialect.name, rows)
    sql = _STORE_SQL.get(key)
    if sql is None:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = Delivery.__table__
        values = [{c: sa.bindparam(f"{c}_{i}", type_=table.c[c].type) for c in _STORE_COLUMNS} for i in range(rows)]
        statement = insert(table).values(values).on_conflict_do_nothing(index_elements=["delivery_id"]).returning(table.c.delivery_id)
        compiled = statement.compile(dialect=dialect)
        # Positional parameters in the order the compiled SQL names them.
        order = [f"{c}_{i}" for i in range(rows) for c in _STORE_COLUMNS]
        if dialect.paramstyle == "qmark":
            assert compiled.positiontup == order, "SQLite's parameters are not in row order"
            sql = compiled.string
        else:  # psycopg: pyformat
            sql = compiled.string % {name: "%s" for name in order}
        _STORE_SQL[key] = sql
    return sql


def store_many(session: Union[Session, sa.Connection], deliveries: list[NewDelivery], now: Optional[datetime] = None) -> list[bool]:
    """Stores a batch in one statement; False for a delivery id stored before, or earlier in the batch.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING` instead of a look, a
    savepoint and an ORM insert per delivery: intake's cost per delivery was
    mostly that (about 0.5 ms of the 1 ms it took on SQLite). `session` may be
    a Core connection in its transaction (intake's), or a session.
    """
    connection = session.connection() if isinstance(session, Session) else session
    dialect = connection.dialect
    if not deliveries or dialect.name not in ("postgresql", "sqlite"):
        if isinstance(session, Session):
            return [store(session, d, now) for d in deliveries]
        with Session(bind=connection) as own:
            return [store(own, d, now) for d in deliveries]
    sql, parameters = store_statement(dialect, deliveries, now)
    return stored_answers(deliveries, {row[0] for row in connection.exec_driver_sql(sql, parameters)})


def store_statement(dialect: sa.Dialect, deliveries: list[NewDelivery], now: Optional[datetime] = None) -> tuple[str, tuple]:
    """`store_many`'s statement and its parameters, for the driver itself (PostgreSQL or
    SQLite): its rows are the delivery ids stored, for `stored_answers`."""
    # The time, as the column type stores it (UTC; SQLite's text form), made once for the batch.
    when = Delivery.__table__.c.received_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = now or utcnow()
    stamp = when(now) if when is not None else now
    parameters: list = []
    for d in deliveries:
        parameters += (d.delivery_id, d.event, d.action, d.installation_id, d.repository, d.ordering_key, d.payload, "pending", 0, stamp, stamp)
    return _store_sql(dialect, len(deliveries)), tuple(parameters)


def stored_answers(deliveries: list[NewDelivery], stored: set) -> list[bool]:
    """Each delivery's answer from the ids the insert returned: False for one stored
    before, or earlier in the batch."""
    results, seen = [], set()
    for d in deliveries:
        results.append(d.delivery_id in stored and d.delivery_id not in seen)
        seen.add(d.delivery_id)
    return results


_OLDER_PENDING = (
    sa.select(sa.literal(1))
    .select_from(Delivery.__table__.alias("older"))
    .where(
        sa.text("older.ordering_key = deliveries.ordering_key"),
        sa.text("older.id < deliveries.id"),
        sa.text("older.status = 'pending'"),
    )
    .exists()
)


def claim_next(session: Session, now: Optional[datetime] = None) -> Optional[Delivery]:
    """Locks and returns the next delivery to handle, or None."""
    found = claim(session, now, limit=1)
    return found[0] if found else None


def claim(session: Session, now: Optional[datetime] = None, limit: int = 1) -> list[Delivery]:
    """Locks and returns up to `limit` deliveries to handle, due first.

    Never two of one ordering key: each is the oldest pending delivery of its
    key, so handling them in any order keeps every issue's order. Read by a
    compiled statement, each row made the session's object as a query would load
    it (storage.compiled.persistent): a worker's batch begins with it."""
    return _claim_statement(limit).objects(session, {"now": now or utcnow()})


@lru_cache(maxsize=None)
def _claim_statement(limit: int) -> ObjectStatement:
    """Built once per limit (storage.procurement says why), compiled to the driver's SQL."""
    return ObjectStatement(
        Delivery,
        table_row(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= sa.bindparam("now"), ~_OLDER_PENDING)
        # In the claim index's order, so the scan stops at the first claimable row:
        # ordered by id alone, PostgreSQL walks every done row (56 ms at 200,000)
        # and SQLite sorts every pending one (5 ms at 1,000 pending).
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


_ALL_DONE = (
    sa.update(Delivery)
    .where(Delivery.id.in_(sa.bindparam("rows", expanding=True)))
    .values(status="done", processed_at=sa.bindparam("done_at"), attempts=Delivery.attempts + 1)
    .execution_options(synchronize_session=False)
)


def mark_all_done(session: Session, deliveries: list[Delivery], now: Optional[datetime] = None) -> None:
    """The `done` marks of a worker's batch: one UPDATE at the end of its transaction (one
    round trip for the batch, not one a delivery; they commit with the effects either way),
    the objects told it is what the database holds (nothing left for a flush)."""
    if not deliveries:
        return
    now = now or utcnow()
    session.connection().execute(_ALL_DONE, {"rows": [d.id for d in deliveries], "done_at": now})
    for delivery in deliveries:
        set_committed_value(delivery, "status", "done")
        set_committed_value(delivery, "processed_at", now)
        set_committed_value(delivery, "attempts", delivery.attempts + 1)


def mark_ignored(session: Session, delivery: Delivery, now: Optional[datetime] = None) -> None:
    delivery.status = "ignored"
    delivery.processed_at = now or utcnow()
    session.add(delivery)


def mark_failed_attempt(
    session: Session, delivery: Delivery, error: str, *, retry_in: timedelta, max_attempts: int, now: Optional[datetime] = None
) -> None:
    """Records a failure; the delivery is tried again later, or parked as failed (kept)."""
    now = now or utcnow()
    delivery.attempts += 1
    delivery.last_error = error[:4000]
    if delivery.attempts >= max_attempts:
        delivery.status = "failed"
        delivery.processed_at = now
    else:
        delivery.next_attempt_at = now + retry_in
    session.add(delivery)


def counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all()
    return {status: n for status, n in rows}


def pending_count(session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(Delivery).where(Delivery.status == "pending")).one()


def retry_failed(session: Session) -> int:
    """Operators' lever: put parked deliveries back in the queue."""
    result = session.exec(
        sa.update(Delivery).where(Delivery.status == "failed").values(status="pending", attempts=0, next_attempt_at=utcnow())
    )
    return result.rowcount or 0


def find(session: Session, delivery_id: str) -> Optional[Delivery]:
    return session.exec(select(Delivery).where(Delivery.delivery_id == delivery_id)).first()
