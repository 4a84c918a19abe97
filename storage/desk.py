"""The bidder's desk: one person's registration, proposals and forms, and nothing of anyone else's.

Every query here is keyed by the signed-in person (their login, or their
GitHub user id for the forms they sent): there is no query by a row id alone
that a desk page could be pointed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.tables import DeskRequest, Opportunity, Proposal, ProposalVersion, Registration


@dataclass(frozen=True)
class MyProposal:
    opportunity: Opportunity
    proposal: Proposal
    versions: tuple[ProposalVersion, ...]


def registration_of(session: Session, login: str) -> Optional[Registration]:
    return session.exec(
        select(Registration).where(sa.func.lower(Registration.login) == login.lower()).order_by(Registration.id.desc()).limit(1)
    ).first()


def proposals_of(session: Session, login: str) -> list[MyProposal]:
    """This person's proposals, newest opportunity first, each with every version."""
    rows = session.exec(
        select(Proposal, Opportunity)
        .join(Opportunity, Opportunity.id == Proposal.opportunity_id)
        .where(sa.func.lower(Proposal.bidder) == login.lower())
        .order_by(Opportunity.id.desc())
    ).all()
    if not rows:
        return []
    ids = [p.id for p, _ in rows]
    versions: dict[int, list[ProposalVersion]] = {}
    for v in session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id.in_(ids)).order_by(ProposalVersion.version)).all():
        versions.setdefault(v.proposal_id, []).append(v)
    return [MyProposal(o, p, tuple(versions.get(p.id, ()))) for p, o in rows]


def opportunity_named(session: Session, repository: str, number: int) -> Optional[Opportunity]:
    return session.exec(
        select(Opportunity).where(sa.func.lower(Opportunity.repository) == repository.lower(), Opportunity.issue_number == number)
    ).first()


def new_request(session: Session, key: str, login: str, user_id: int, kind: str, opportunity_id: Optional[int], now: datetime) -> DeskRequest:
    row = DeskRequest(key=key, login=login, user_id=user_id, kind=kind, opportunity_id=opportunity_id, created_at=now)
    session.add(row)
    session.flush()
    return row


def request_by_key(session: Session, key: str, lock: bool = False) -> Optional[DeskRequest]:
    query = select(DeskRequest).where(DeskRequest.key == key)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def my_request(session: Session, key: str, user_id: int) -> Optional[DeskRequest]:
    """A form's outcome, only for the person who sent it."""
    return session.exec(select(DeskRequest).where(DeskRequest.key == key, DeskRequest.user_id == user_id)).first()


def recent_count(session: Session, user_id: int, since: datetime) -> int:
    """How many forms this person sent since `since` (the per-person rate limit)."""
    return session.exec(
        select(sa.func.count()).select_from(DeskRequest).where(DeskRequest.user_id == user_id, DeskRequest.created_at >= since)
    ).one()


def finish(session: Session, row: DeskRequest, outcome: str, refused: bool, params: dict[str, Any], now: datetime) -> None:
    row.status = "refused" if refused else "done"
    row.outcome = outcome
    row.params = json.dumps(params, default=str)
    row.done_at = now
    session.add(row)


def params_of(row: DeskRequest) -> dict[str, Any]:
    try:
        data = json.loads(row.params or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def store_request(session: Session, *args, **kwargs) -> Optional[DeskRequest]:
    """`new_request`, or None when its key was stored before."""
    try:
        with session.begin_nested():
            return new_request(session, *args, **kwargs)
    except IntegrityError:
        return None
