"""Alert subscriptions and the mail outbox.

Messages are rows of `mail_outbox`, stored in the transaction that decided
them (a subscription, an opportunity opening). The mailer claims due rows
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's write lock otherwise) and
leases them before it talks to the mail server with no transaction open, so
two mailers never take one row; what the server answered is recorded after.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.tables import AlertAddress, AlertSubscription, MailMessage, Opportunity

LIVE = ("pending", "confirmed")


def lock_address(session: Session, address_hash: str) -> AlertAddress:
    """The address's row, created if new, locked until the transaction ends: two
    posts of the form for one address take their turn at the hourly limit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.exec(insert(AlertAddress).values(address_hash=address_hash).on_conflict_do_nothing(index_elements=["address_hash"]))
    return session.exec(
        select(AlertAddress).where(AlertAddress.address_hash == address_hash).with_for_update().execution_options(populate_existing=True)
    ).one()


def add_subscription(session: Session, subscription: AlertSubscription) -> AlertSubscription:
    session.add(subscription)
    session.flush()
    return subscription


def subscription(session: Session, subscription_id: int, lock: bool = False) -> Optional[AlertSubscription]:
    query = select(AlertSubscription).where(AlertSubscription.id == subscription_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.exec(query).first()


def has_confirmed(session: Session, address_hash: str) -> bool:
    return session.exec(
        select(AlertSubscription.id).where(AlertSubscription.address_hash == address_hash, AlertSubscription.status == "confirmed").limit(1)
    ).first() is not None


def confirmed_subscriptions(session: Session) -> list[AlertSubscription]:
    return list(session.exec(select(AlertSubscription).where(AlertSubscription.status == "confirmed").order_by(AlertSubscription.id)).all())


def confirm(session: Session, subscription: AlertSubscription, now: datetime) -> None:
    """Confirmed: it replaces the address's earlier search, whose copy of the address goes."""
    earlier = session.exec(
        select(AlertSubscription).where(
            AlertSubscription.address_hash == subscription.address_hash,
            AlertSubscription.status == "confirmed",
            AlertSubscription.id != subscription.id,
        )
    ).all()
    for row in earlier:
        _end(row, "replaced", now)
        session.add(row)
    subscription.status = "confirmed"
    subscription.confirmed_at = now
    session.add(subscription)


def _end(row: AlertSubscription, status: str, now: datetime) -> None:
    row.status = status
    row.email = None
    row.ended_at = now


def end_address(session: Session, address_hash: str, status: str, now: datetime) -> int:
    """Every live subscription of the address ends (its copy of the address erased)
    and nothing more is sent to it; how many subscriptions ended."""
    rows = session.exec(
        select(AlertSubscription).where(AlertSubscription.address_hash == address_hash, AlertSubscription.status.in_(LIVE)).with_for_update()
    ).all()
    for row in rows:
        _end(row, status, now)
        session.add(row)
    session.exec(
        sa.update(MailMessage)
        .where(MailMessage.address_hash == address_hash, MailMessage.status == "pending")
        .values(status="cancelled", last_error=status)
    )
    return len(rows)


def supersede_pending(session: Session, address_hash: str, now: datetime) -> int:
    """A newer search of the address waits for confirmation instead: the earlier pending
    ones end (their links stop working) and their unsent confirmations are not sent."""
    rows = session.exec(
        select(AlertSubscription).where(AlertSubscription.address_hash == address_hash, AlertSubscription.status == "pending")
    ).all()
    for row in rows:
        _end(row, "replaced", now)
        session.add(row)
    session.exec(
        sa.update(MailMessage)
        .where(MailMessage.address_hash == address_hash, MailMessage.kind == "confirm", MailMessage.status == "pending")
        .values(status="cancelled", last_error="replaced")
    )
    return len(rows)


def address(session: Session, address_hash: str) -> Optional[AlertAddress]:
    return session.get(AlertAddress, address_hash)


def confirmation_sent(session: Session, address_hash: str, now: datetime) -> None:
    row = session.get(AlertAddress, address_hash) or AlertAddress(address_hash=address_hash)
    row.last_sent_at = now
    session.add(row)


def forget_addresses(session: Session, before: datetime) -> None:
    """The hourly limit's rows outlive their hour for nothing: they go."""
    session.exec(
        sa.delete(AlertAddress).where(
            sa.or_(AlertAddress.last_requested_at.is_(None), AlertAddress.last_requested_at < before),
            sa.or_(AlertAddress.last_sent_at.is_(None), AlertAddress.last_sent_at < before),
        )
    )


def expire_unconfirmed(session: Session, created_before: datetime, now: datetime) -> int:
    """Pending subscriptions whose confirmation link has expired: their address is erased."""
    rows = session.exec(
        select(AlertSubscription)
        .where(AlertSubscription.status == "pending", AlertSubscription.created_at < created_before)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        _end(row, "expired", now)
        session.add(row)
    if rows:
        session.exec(
            sa.update(MailMessage)
            .where(MailMessage.subscription_id.in_([r.id for r in rows]), MailMessage.status == "pending")
            .values(status="cancelled", last_error="expired")
        )
    return len(rows)


# ---------------------------------------------------------------- the mail outbox


def enqueue_confirmation(session: Session, subscription: AlertSubscription, now: datetime) -> None:
    session.add(
        MailMessage(kind="confirm", subscription_id=subscription.id, address_hash=subscription.address_hash, created_at=now, next_attempt_at=now)
    )


def enqueue_alerts(session: Session, opportunity_id: int, subscriptions: Iterable[AlertSubscription], now: datetime) -> int:
    """One message per address for this opportunity, never a second: a row already
    there is left alone, unless it was cancelled (the opportunity had closed before its
    turn came) and the opportunity opens again."""
    rows = [
        dict(kind="alert", subscription_id=s.id, address_hash=s.address_hash, opportunity_id=opportunity_id, status="pending", attempts=0, created_at=now, next_attempt_at=now)
        for s in subscriptions
    ]
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(MailMessage).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["address_hash", "opportunity_id"],
        set_={"status": "pending", "subscription_id": statement.excluded.subscription_id, "next_attempt_at": now, "last_error": None},
        where=MailMessage.__table__.c.status == "cancelled",
    )
    session.exec(statement)
    return len(rows)


def claim_due(session: Session, now: datetime, lease_seconds: float, limit: int) -> list[MailMessage]:
    """Takes up to `limit` due messages: they are not due again for `lease_seconds`,
    unless what the mail server answered is recorded first."""
    rows = list(
        session.exec(
            select(MailMessage)
            .where(MailMessage.status == "pending", MailMessage.next_attempt_at <= now)
            .order_by(MailMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    for row in rows:
        row.next_attempt_at = now + timedelta(seconds=lease_seconds)
        session.add(row)
    return rows


def reload(session: Session, message_ids: list[int]) -> dict[int, MailMessage]:
    rows = session.exec(select(MailMessage).where(MailMessage.id.in_(message_ids)).with_for_update().execution_options(populate_existing=True)).all()
    return {row.id: row for row in rows}


def opportunity(session: Session, opportunity_id: Optional[int]) -> Optional[Opportunity]:
    return session.get(Opportunity, opportunity_id) if opportunity_id is not None else None


def mark_sent(session: Session, message: MailMessage, now: datetime) -> None:
    message.status = "sent"
    message.sent_at = now
    message.attempts += 1
    session.add(message)


def mark_retry(session: Session, message: MailMessage, error: str, retry_in: float, now: datetime) -> None:
    """Kept pending: tried again after `retry_in` seconds, never dropped."""
    message.attempts += 1
    message.last_error = error[:2000]
    message.next_attempt_at = now + timedelta(seconds=retry_in)
    session.add(message)


def mark_settled(session: Session, message: MailMessage, status: str, reason: str, now: datetime) -> None:
    """Not to be sent: `cancelled` (no longer wanted) or `refused` (the server refused it for good)."""
    message.status = status
    message.last_error = reason[:2000]
    message.sent_at = now
    session.add(message)


def mail_counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(MailMessage.status, sa.func.count()).group_by(MailMessage.status)).all()
    return {status: count for status, count in rows}


def next_due(session: Session) -> Optional[datetime]:
    return session.exec(select(sa.func.min(MailMessage.next_attempt_at)).where(MailMessage.status == "pending")).one()
