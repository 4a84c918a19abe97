"""What missed-delivery recovery remembers: the GUIDs it asked GitHub to redeliver
(each row is the claim that lets one process, and only one, ask for a GUID) and
how far back the last pass read GitHub's list of deliveries."""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from datetime import datetime
from typing import Iterable, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.tables import Delivery, HookRecoveryMark, HookRedelivery

MARK = "app"
# Values per IN (...) list: well under SQLite's limit on bound parameters.
CHUNK = 500
# The session-level advisory lock one recovery pass holds on PostgreSQL.
PASS_LOCK = zlib.crc32(b"devex-bot:recovery")


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def mark(session: Session) -> Optional[HookRecoveryMark]:
    return session.get(HookRecoveryMark, MARK)


def advance_mark(session: Session, delivered_at: datetime, hook_id: int, now: datetime) -> None:
    """Moves the mark forward (never back): the next pass reads back to about here."""
    row = session.exec(select(HookRecoveryMark).where(HookRecoveryMark.name == MARK).with_for_update()).first()
    if row is None:
        session.add(HookRecoveryMark(name=MARK, newest_delivered_at=delivered_at, newest_id=hook_id, looked_at=now))
        return
    if delivered_at > row.newest_delivered_at:
        row.newest_delivered_at = delivered_at
        row.newest_id = max(row.newest_id, hook_id)
    row.looked_at = now
    session.add(row)


def stored_among(session: Session, guids: Iterable[str]) -> set[str]:
    """The GUIDs already in the inbox (X-GitHub-Delivery is the GUID)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(guids))):
        found.update(session.exec(select(Delivery.delivery_id).where(Delivery.delivery_id.in_(chunk))).all())
    return found


# Built once (storage.procurement says why); the worker asks it for every batch.
_REQUESTED = select(HookRedelivery.guid).where(HookRedelivery.guid.in_(sa.bindparam("guids", expanding=True)))


def requested_among(session: Session, guids: Iterable[str]) -> set[str]:
    """The GUIDs recovery asked GitHub to redeliver."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(guids))):
        found.update(session.exec(_REQUESTED, params={"guids": chunk}).all())
    return found


def redeliveries(session: Session) -> list[HookRedelivery]:
    return list(session.exec(select(HookRedelivery).order_by(HookRedelivery.first_delivered_at, HookRedelivery.guid)).all())


def claim(
    session: Session,
    *,
    guid: str,
    hook_delivery_id: int,
    event: Optional[str],
    action: Optional[str],
    first_delivered_at: datetime,
    last_attempt_at: datetime,
    now: datetime,
    max_requests: int,
) -> bool:
    """Whether this process may ask GitHub to redeliver `guid` now (commit at once).

    The first ask is an insert that only one process can make. A GUID asked for
    before is asked again only when asking failed, or when GitHub did redeliver
    it after the last ask and that attempt failed too (a new failure), and at
    most `max_requests` times: never twice for one failure."""
    dialect = session.get_bind().dialect.name
    values = dict(
        guid=guid,
        hook_delivery_id=hook_delivery_id,
        event=(event or None) and event[:60],
        action=(action or None) and action[:60],
        status="requested",
        requests=1,
        first_delivered_at=first_delivered_at,
        requested_at=now,
    )
    table = HookRedelivery.__table__
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["guid"]).returning(table.c.guid)
        if session.connection().execute(statement).first() is not None:
            return True
    elif session.get(HookRedelivery, guid) is None:  # pragma: no cover - other databases
        session.add(HookRedelivery(**values))
        session.flush()
        return True
    again = (
        sa.update(table)
        .where(
            table.c.guid == guid,
            table.c.requests < max_requests,
            sa.or_(table.c.status == "failed", sa.and_(table.c.status == "requested", table.c.requested_at < last_attempt_at)),
        )
        .values(requests=table.c.requests + 1, status="requested", requested_at=now, hook_delivery_id=hook_delivery_id)
    )
    return (session.connection().execute(again).rowcount or 0) == 1


def settle(session: Session, guid: str, status: str, detail: Optional[str] = None) -> None:
    """What came of asking: requested, refused (for good) or failed (ask again later)."""
    table = HookRedelivery.__table__
    session.connection().execute(sa.update(table).where(table.c.guid == guid).values(status=status, detail=(detail or None) and detail[:2000]))


@contextmanager
def exclusive_pass(engine: Engine) -> Iterator[bool]:
    """True when this process may run a pass now: on PostgreSQL one process at a
    time (an advisory lock held for the pass, not a transaction); elsewhere always
    (the claims alone keep every GUID asked for once)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        got = bool(connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": PASS_LOCK}).scalar())
        try:
            yield got
        finally:
            if got:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PASS_LOCK})
