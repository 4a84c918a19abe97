"""The outbox: GitHub writes owed, stored in the transaction that decided them.

Writes of one installation go out one at a time, oldest first, at least
`write_interval` apart. The sender locks the installation's row while it
sends (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two sender processes never
write for one installation at once, and the spacing is kept across processes
in `installations.last_write_at`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from storage.compiled import DriverStatement, ObjectStatement, run_together, table_row
from storage.installations import insert_installation
from storage.outbox_ids import by_ids, read_writes, update_by_ids
from storage.tables import GitHubWrite, Installation, utcnow


@dataclass(frozen=True)
class Write:
    """A write as handlers describe it, before it is stored."""

    installation_id: int
    kind: str = "request"
    method: Optional[str] = None
    path: Optional[str] = None
    body: Any = None
    then: Optional[dict] = None
    coalesce_key: Optional[str] = None
    priority: int = 0  # higher goes before the installation's other pending writes


_ENQUEUE = DriverStatement(
    sa.insert(GitHubWrite.__table__),
    (
        "installation_id", "kind", "method", "path", "body", "then", "coalesce_key", "priority",
        "status", "attempts", "delivery_id", "created_at", "next_attempt_at",
    ),
)
# Built once (storage.procurement says why).
_COALESCING = DriverStatement(
    select(GitHubWrite.id)
    .where(GitHubWrite.coalesce_key == sa.bindparam("key"), GitHubWrite.status == "pending")
    .limit(1)
    .with_for_update(skip_locked=True)
)


def enqueue(session: Session, write: Write, delivery_id: Optional[str] = None, now: Optional[datetime] = None) -> bool:
    """Stores a write; False when it was coalesced into a pending one. A write with a
    coalesce key that is already pending is not added twice: named writes are rendered
    when sent, so the pending one will show the newest state.

    Statements compiled once to the driver's SQL (storage.compiled), on the session's
    connection: the row is in the table at once, in the order queued (the sender sends
    in id order), with none of the ORM's unit of work (about a tenth of a bid's CPU
    for its three writes) nor Core's execution machinery.
    """
    if write.coalesce_key:
        # Only into one the sender has not taken yet: it holds the rows it is rendering
        # (skipped here), and a leased one has lost its key. This transaction's lock
        # then keeps the sender off the row until the state it must show is committed.
        # On the connection, so no autoflush: the outbox's rows are inserted at once (below),
        # none is waiting in the session, and the handler's own changes go in one flush later.
        pending = _COALESCING.execute(session.connection(), {"key": write.coalesce_key}).first()
        if pending is not None:
            return False
    _store(session, [write], delivery_id, now or utcnow())
    return True


def enqueue_all(session: Session, writes: list[Write], delivery_id: Optional[str], now: datetime) -> None:
    """Stores writes without a coalesce key, in their order (the sender sends in id
    order), all in one call to the driver: on PostgreSQL one wait for the server, not
    one a write (a bid's reply and its comment's removal)."""
    if any(write.coalesce_key for write in writes):
        raise ValueError("a write with a coalesce key is stored by enqueue, which looks for a pending one first")
    _store(session, writes, delivery_id, now)


def _store(session: Session, writes: list[Write], delivery_id: Optional[str], now: datetime) -> None:
    for installation_id in dict.fromkeys(write.installation_id for write in writes):
        ensure_installation(session, installation_id)  # once each, not once a write
    rows = []
    for write in writes:
        body = json.dumps(write.body, ensure_ascii=False) if write.body is not None else None
        then = json.dumps(write.then) if write.then else None
        rows.append(
            {
                "installation_id": write.installation_id, "kind": write.kind, "method": write.method, "path": write.path,
                "body": body, "then": then, "coalesce_key": write.coalesce_key, "priority": write.priority,
                "status": "pending", "attempts": 0, "delivery_id": delivery_id, "created_at": now, "next_attempt_at": now,
            }
        )  # fmt: skip
    _ENQUEUE.execute_many(session.connection(), rows)


def ensure_installation(session: Session, installation_id: int, account: str = "") -> Installation:
    installation = session.get(Installation, installation_id)
    if installation is None:
        installation = insert_installation(session, installation_id, account)
    return installation


def _claim_queries():
    """The claim's two queries of its own (the installation, its next write ids), built
    once (storage.procurement says why)."""
    # The head: the oldest of the highest-priority pending writes.
    top = (
        select(sa.func.max(GitHubWrite.priority))
        .where(GitHubWrite.installation_id == Installation.id, GitHubWrite.status == "pending")
        .correlate(Installation)
        .scalar_subquery()
    )
    head_id = (
        select(sa.func.min(GitHubWrite.id))
        .where(GitHubWrite.installation_id == Installation.id, GitHubWrite.status == "pending", GitHubWrite.priority == top)
        .correlate(Installation)
        .scalar_subquery()
    )
    due_head = (
        select(GitHubWrite.id)
        .where(GitHubWrite.id == head_id, GitHubWrite.next_attempt_at <= sa.bindparam("now"))
        .correlate(Installation)
        .exists()
    )
    installation = ObjectStatement(
        Installation,
        table_row(Installation)
        .where(
            Installation.status == "active",
            sa.or_(Installation.last_write_at.is_(None), Installation.last_write_at <= sa.bindparam("spaced")),
            due_head,
        )
        .order_by(sa.nulls_first(Installation.last_write_at.asc()), Installation.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    # The installation's next writes: index seeks (ix_github_writes_head), not a sort of
    # every pending write; only those of its highest priority (the others wait behind them).
    top_now = (
        select(sa.func.max(GitHubWrite.priority))
        .where(GitHubWrite.installation_id == sa.bindparam("installation_id"), GitHubWrite.status == "pending")
        .scalar_subquery()
    )
    next_ids = (
        select(GitHubWrite.id)
        .where(GitHubWrite.installation_id == sa.bindparam("installation_id"), GitHubWrite.status == "pending", GitHubWrite.priority == top_now)
        .order_by(GitHubWrite.id)
    )
    return installation, next_ids


# The sender's reads are compiled to the driver's SQL and their rows made the session's
# objects (storage.compiled.ObjectStatement): at one write a batch, as paced writes always
# go, its four reads as ORM queries were a third of its CPU (issue 18, eighth pass).
_CLAIM_INSTALLATION, _NEXT_IDS = _claim_queries()


@lru_cache(maxsize=None)
def _next_ids(limit: int) -> DriverStatement:
    return DriverStatement(_NEXT_IDS.limit(limit))  # built once per limit, compiled to the driver's SQL


def claim_writes(session: Session, write_interval: float, now: datetime, limit: int) -> Optional[tuple[Installation, list[GitHubWrite]]]:
    """Locks an active installation whose oldest pending write is due and whose last
    write is at least `write_interval` old; returns it with up to `limit` of its writes:
    the head, then those right behind it, in order, as long as they are due (behind a
    priority head, only writes of its priority). Three statements whatever the batch:
    the installation, the ids, and the writes locked (a worker folding a newer state into
    one holds it: the batch ends before it, and a held head is tried again later, never
    skipped past).

    The writes are read after their lock, as they are now, and the head's own due time
    checked again there: on PostgreSQL the installation's query may have judged the head
    due from a snapshot taken just before another sender committed its lease of it (the
    installation's row it then locks is read again as it is now; the subquery is not)."""
    spaced = now - timedelta(seconds=write_interval)
    found = _CLAIM_INSTALLATION.objects(session, {"now": now, "spaced": spaced})
    if not found:
        return None
    installation = found[0]
    ids = [row[0] for row in _next_ids(max(limit, 1)).execute(session.connection(), {"installation_id": installation.id}).rows]
    if not ids:
        return None
    rows = {row.id: row for row in read_writes(session, ids, lock=True)}
    head = rows.get(ids[0])
    if head is None or head.status != "pending" or head.next_attempt_at > now:
        return None
    writes = [head]
    for write_id in ids[1:]:
        row = rows.get(write_id)
        if row is None or row.status != "pending" or row.next_attempt_at > now:
            break  # what follows waits behind it
        writes.append(row)
    return installation, writes


_SENT_FIELDS = ("status", "sent_at", "attempts", "result", "last_error")
_SENT = DriverStatement(
    sa.update(GitHubWrite.__table__)
    .where(GitHubWrite.__table__.c.id == sa.bindparam("row"))
    .values({name: sa.bindparam(f"new_{name}") for name in _SENT_FIELDS})
)
_LAST_WRITE = DriverStatement(
    sa.update(Installation.__table__).where(Installation.__table__.c.id == sa.bindparam("row")).values(last_write_at=sa.bindparam("new_last_write_at"))
)


def _spaced_from(session: Session, installation: Installation, now: datetime) -> None:
    """The installation's last write is now (its next is spaced from it), written at once."""
    spacing = _spacing(installation, now)
    if spacing is not None:
        statement, params = spacing
        statement.execute(session.connection(), params)


def _spacing(installation: Installation, now: datetime) -> Optional[tuple[DriverStatement, dict]]:
    """The statement, built once, that records the installation's last write as now, for
    the caller to run in this transaction (the object is told it holds that: a statement
    that fails aborts the transaction, whose rollback expires the object). None when it
    holds that already: once a transaction has written it, its row stays locked by it,
    and the next writes it records as of the same moment (a batch's answers) write
    nothing (a statement a write fewer)."""
    if installation.last_write_at == now:
        return None
    set_committed_value(installation, "last_write_at", now)
    return _LAST_WRITE, {"row": installation.id, "new_last_write_at": now}


def mark_sent(
    session: Session, installation: Installation, write: GitHubWrite, result: Any, now: Optional[datetime] = None, *, touched: bool = True
) -> None:
    """The write is done (`mark_all_sent` for one)."""
    mark_all_sent(session, installation, [(write, result)], now or utcnow(), touched=touched)


def mark_all_sent(session: Session, installation: Installation, done: list[tuple[GitHubWrite, Any]], now: datetime, *, touched: bool = True) -> None:
    """These writes are done, each with what GitHub answered it. Written at once by
    statements built once (all the rows' in one call to the driver: on PostgreSQL one
    wait for the server, not one a write), and the objects told it is what the database
    holds: for the one or two rows a sent write changes, the unit of work's flush at the
    commit cost more than the statements (a sixth of a sender's instructions at one
    write a batch, as paced writes always go). Each `last_error` is written as the
    object holds it (the sender sets it back to the error before this attempt)."""
    if not done:
        return
    marked = [
        (write, {
            "status": "sent",
            "sent_at": now,
            "attempts": write.attempts + 1,
            "result": json.dumps(result, ensure_ascii=False)[:4000] if result is not None else None,
            "last_error": write.last_error,
        })
        for write, result in done
    ]  # fmt: skip
    runs = [(_SENT, {"row": write.id, **{f"new_{k}": v for k, v in fields.items()}}) for write, fields in marked]
    spacing = _spacing(installation, now) if touched else None
    # The marks and the installation's last write: one round trip to PostgreSQL (storage.compiled.run_together).
    run_together(session.connection(), runs + [spacing] if spacing else runs)
    for write, fields in marked:
        for name, value in fields.items():
            set_committed_value(write, name, value)


def lease(
    session: Session, installation: Installation, writes: list[GitHubWrite], seconds: float, now: datetime, in_flight: Sequence[int] = (), note: str = ""
) -> None:
    """Before the sender calls GitHub with no transaction open: the writes are not due
    again (nor anything behind them, nor their installation for any other sender) for
    `seconds`, unless their answers are recorded first. They are rendered now: a change
    after this needs a write of its own, so they no longer take others in (coalescing).
    `in_flight`: the ids of the creates among them, marked possibly done with `note`
    (`note_in_flight`) along with the lease. One round trip to PostgreSQL for
    the batch (the lease, the installation's last write, the note: storage.compiled.run_together),
    the objects told it is what the database holds."""
    if not writes:
        return
    until = now + timedelta(seconds=seconds)
    count, ids = by_ids([w.id for w in writes])
    runs = [(update_by_ids(count, next_attempt_at="until", coalesce_key=None), {"until": until, **ids})]
    spacing = _spacing(installation, now)
    if spacing:
        runs.append(spacing)
    if in_flight:
        runs.append(_noted(in_flight, note))
    run_together(session.connection(), runs)
    for write in writes:
        set_committed_value(write, "next_attempt_at", until)
        set_committed_value(write, "coalesce_key", None)


def note_in_flight(session: Session, write_ids: Sequence[int], note: str) -> None:
    """Marks creates as possibly done by GitHub (read only if the answer is never recorded)."""
    if write_ids:
        statement, params = _noted(write_ids, note)
        statement.execute(session.connection(), params)


def _noted(write_ids: Sequence[int], note: str) -> tuple[DriverStatement, dict]:
    count, ids = by_ids(list(write_ids))
    return update_by_ids(count, last_error="note"), {"note": note, **ids}


_RELOCK = ObjectStatement(Installation, table_row(Installation).where(Installation.id == sa.bindparam("installation_id")).with_for_update())


def reload(session: Session, write_ids: list[int]) -> dict[int, GitHubWrite]:
    """The writes as they are now, by id (one query for a whole batch)."""
    return {row.id: row for row in read_writes(session, write_ids, lock=False, refresh=True)}


def release(session: Session, write: GitHubWrite, previous_error: Optional[str], now: datetime) -> None:
    """A leased write that was not tried (one before it must be retried first): due again."""
    write.next_attempt_at = now
    write.last_error = previous_error
    session.add(write)


def relock_installation(session: Session, installation_id: int) -> Installation:
    found = _RELOCK.objects(session, {"installation_id": installation_id}, refresh=True)
    if len(found) != 1:
        raise sa.exc.NoResultFound("no row was found")
    return found[0]


def mark_retry(session: Session, installation: Installation, write: GitHubWrite, error: str, retry_in: float, *, touched: bool, now: Optional[datetime] = None) -> None:
    """Kept pending: tried again after `retry_in` seconds, never dropped."""
    now = now or utcnow()
    write.attempts += 1
    write.last_error = error[:4000]
    write.next_attempt_at = now + timedelta(seconds=retry_in)
    session.add(write)
    if touched:
        _spaced_from(session, installation, now)


def mark_refused(session: Session, installation: Installation, write: GitHubWrite, error: str, now: Optional[datetime] = None) -> None:
    """GitHub refused for good (404, 422...): trying again cannot help; kept for the record."""
    now = now or utcnow()
    write.attempts += 1
    write.status = "refused"
    write.last_error = error[:4000]
    write.sent_at = now
    session.add(write)
    _spaced_from(session, installation, now)


def pending_count(session: Session, installation_id: Optional[int] = None) -> int:
    query = select(sa.func.count()).select_from(GitHubWrite).where(GitHubWrite.status == "pending")
    if installation_id is not None:
        query = query.where(GitHubWrite.installation_id == installation_id)
    return session.exec(query).one()


def hold_pending_named(session: Session, coalesce_key: str) -> bool:
    """Whether a named write is still waiting to be rendered (not yet taken by a
    sender); if so it is locked until this transaction ends, so what this
    transaction commits is in it when it is rendered."""
    found = session.exec(
        select(GitHubWrite.id)
        .where(GitHubWrite.coalesce_key == coalesce_key, GitHubWrite.status == "pending")
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    return found is not None


def unsent(session: Session) -> list[GitHubWrite]:
    """Writes not sent (pending, or refused by GitHub for good), oldest first."""
    return list(session.exec(select(GitHubWrite).where(GitHubWrite.status.in_(["pending", "refused"])).order_by(GitHubWrite.id)).all())
