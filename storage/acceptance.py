"""Reads and writes of merges that did not pass acceptance (`/accept` records their payment)."""

from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from storage.tables import MergeAcceptance


def refused_merge(session: Session, repository: str, number: int, lock: bool = False) -> Optional[MergeAcceptance]:
    query = select(MergeAcceptance).where(MergeAcceptance.repository == repository, MergeAcceptance.number == number)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def keep_refused_merge(session: Session, row: MergeAcceptance) -> MergeAcceptance:
    """Kept once per pull request: a merge delivered again keeps the first row."""
    existing = refused_merge(session, row.repository, row.number, lock=True)
    if existing is not None:
        return existing
    session.add(row)
    session.flush()
    return row


def save(session: Session, row: MergeAcceptance) -> None:
    session.add(row)
    session.flush()


def accepted_for_payments(session: Session, payment_ids: list[int]) -> dict[int, MergeAcceptance]:
    """payment id -> the `/accept` that recorded it, for the payments export."""
    if not payment_ids:
        return {}
    rows = session.exec(select(MergeAcceptance).where(MergeAcceptance.payment_id.in_(payment_ids))).all()
    return {row.payment_id: row for row in rows}

