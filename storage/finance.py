"""Reads and writes of finance and governance: funds commitments, certifications, awards to one contractor."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional, Sequence

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.tables import AuditEvent, Award, Certification, FundsCommitment, Opportunity


def commitment(session: Session, opportunity_id: int) -> Optional[FundsCommitment]:
    """The opportunity's latest funds commitment, or None."""
    return session.exec(
        select(FundsCommitment).where(FundsCommitment.opportunity_id == opportunity_id).order_by(FundsCommitment.id.desc()).limit(1)
    ).first()


def commitments(session: Session) -> dict[int, FundsCommitment]:
    """The latest commitment of every opportunity that has one."""
    latest: dict[int, FundsCommitment] = {}
    for row in session.exec(select(FundsCommitment).order_by(FundsCommitment.id)).all():
        latest[row.opportunity_id] = row
    return latest


def add(session: Session, row) -> None:
    session.add(row)
    session.flush()


def certification(session: Session, payment_id: int) -> Optional[Certification]:
    return session.exec(select(Certification).where(Certification.payment_id == payment_id)).first()


def certifications(session: Session) -> dict[int, Certification]:
    return {row.payment_id: row for row in session.exec(select(Certification)).all()}


def approved_awards_to(session: Session, contractor: str, since: datetime) -> Sequence[tuple[Award, Opportunity]]:
    """Approved awards to `contractor` (any case) decided at or after `since`, oldest first."""
    return session.exec(
        select(Award, Opportunity)
        .join(Opportunity, Opportunity.id == Award.opportunity_id)
        .where(sa.func.lower(Award.contractor) == contractor.lower(), Award.status == "approved", Award.decided_at >= since)
        .order_by(Award.decided_at, Award.id)
    ).all()


def approved_awards(session: Session) -> Sequence[tuple[Award, Opportunity]]:
    return session.exec(
        select(Award, Opportunity).join(Opportunity, Opportunity.id == Award.opportunity_id).where(Award.status == "approved").order_by(Award.id)
    ).all()


def approval_details(session: Session) -> dict[int, dict]:
    """What each `award_approved` event recorded, by award id (the justification, the splitting check)."""
    found: dict[int, dict] = {}
    for event in session.exec(select(AuditEvent).where(AuditEvent.kind == "award_approved").order_by(AuditEvent.id)).all():
        detail = json.loads(event.detail or "{}")
        if isinstance(detail.get("award_id"), int):
            found[detail["award_id"]] = detail
    return found
