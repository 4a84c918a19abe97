"""Reads and writes of opportunities, proposals, scores, awards and payments.

Plain functions over a session; the rules that decide what to write live in
`bot.procurement`, and nothing here calls GitHub.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from storage.compiled import DriverStatement, ObjectStatement, run_together, table_row
from storage.tables import (
    AuditEvent,
    Award,
    Milestone,
    Opportunity,
    Payment,
    Proposal,
    ProposalVersion,
    PullRequestLink,
    Registration,
    Score,
)

# ---------------------------------------------------------------- opportunities


# The queries every delivery runs, built once with their parameters named: a
# statement built for each call cost three times as much as running it (179 us
# against 59 us on SQLite), its construction and cache key included (issue 18).
_BY_ISSUE = select(Opportunity).where(Opportunity.repository == sa.bindparam("repository"), Opportunity.issue_number == sa.bindparam("number"))
# Locked, as every command reads it: compiled to the driver's SQL, its row made the
# session's object without the ORM's loading of a result (storage.compiled.persistent).
_BY_ISSUE_LOCKED = ObjectStatement(
    Opportunity,
    table_row(Opportunity).where(Opportunity.repository == sa.bindparam("repository"), Opportunity.issue_number == sa.bindparam("number")).with_for_update()
)


def opportunity_by_issue(session: Session, repository: str, number: int, lock: bool = False) -> Optional[Opportunity]:
    params = {"repository": repository, "number": number}
    if not lock:
        return session.exec(_BY_ISSUE, params=params).first()
    found = _BY_ISSUE_LOCKED.objects(session, params)
    return found[0] if found else None


def opportunity(session: Session, opportunity_id: int, lock: bool = False) -> Optional[Opportunity]:
    if lock:
        return session.exec(select(Opportunity).where(Opportunity.id == opportunity_id).with_for_update().execution_options(populate_existing=True)).first()
    return session.get(Opportunity, opportunity_id)


def opportunity_by_evaluation_issue(session: Session, repository: str, number: int) -> Optional[Opportunity]:
    return session.exec(
        select(Opportunity).where(Opportunity.review_repository == repository, Opportunity.evaluation_issue_number == number)
    ).first()


def save(session: Session, *rows: Any) -> None:
    for row in rows:
        session.add(row)
    session.flush()


def milestones(session: Session, opportunity_id: int) -> list[Milestone]:
    return list(session.exec(select(Milestone).where(Milestone.opportunity_id == opportunity_id).order_by(Milestone.position)).all())


def replace_milestones(session: Session, opportunity_id: int, specs: Iterable[tuple[str, Decimal]]) -> list[Milestone]:
    for row in milestones(session, opportunity_id):
        session.delete(row)
    session.flush()
    rows = [Milestone(opportunity_id=opportunity_id, position=i + 1, name=name, amount=amount) for i, (name, amount) in enumerate(specs)]
    for row in rows:
        session.add(row)
    session.flush()
    return rows


def open_past_deadline(session: Session, now: datetime) -> Sequence[Opportunity]:
    return session.exec(
        select(Opportunity).where(Opportunity.state == "open", Opportunity.deadline <= now).order_by(Opportunity.deadline).limit(500)
    ).all()


def opportunities(session: Session, states: Optional[Iterable[str]] = None) -> Sequence[Opportunity]:
    query = select(Opportunity).order_by(Opportunity.id)
    if states:
        query = query.where(Opportunity.state.in_(list(states)))
    return session.exec(query).all()


# ---------------------------------------------------------------- bidders


_REGISTRATION = select(Registration).where(sa.func.lower(Registration.login) == sa.bindparam("login")).order_by(Registration.id.desc()).limit(1)


def registration(session: Session, login: str) -> Optional[Registration]:
    return session.exec(_REGISTRATION, params={"login": login.lower()}).first()


_REGISTERED_TERMS = DriverStatement(_REGISTRATION.with_only_columns(Registration.terms_version))


def registered_terms(session: Session, login: str) -> Optional[str]:
    """The terms version of this person's latest registration, or None when they never
    registered: what a bid checks, read on every bid with a statement built once (no ORM
    object). On the session's connection, so without an autoflush: a registration is
    flushed when made."""
    return _REGISTERED_TERMS.execute(session.connection(), {"login": login.lower()}).scalar()


def lock_registration(session: Session, login: str) -> None:
    """Until this transaction ends, no other one registers `login`: a bidder's
    `/register` on two opportunities at once (two workers) records one registration.
    SQLite needs nothing: its writers already take turns."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("registration:" + login.lower()))))


_PROPOSAL_OF = select(Proposal).where(Proposal.opportunity_id == sa.bindparam("opportunity_id"), sa.func.lower(Proposal.bidder) == sa.bindparam("bidder"))


_PROPOSAL_ID_LOCKED = DriverStatement(_PROPOSAL_OF.with_only_columns(Proposal.id).with_for_update())


def proposal_of(session: Session, opportunity_id: int, bidder: str, lock: bool = False) -> Optional[Proposal]:
    """This person's proposal on the opportunity, or None. With `lock`, its row is locked
    first (FOR UPDATE) by a statement built once (after the session's pending changes
    are flushed, as the ORM's query would have), then read by its id as it is now: a
    first bid (nearly every bid) pays one cheap statement and no ORM query; a
    replacement pays one more by id."""
    params = {"opportunity_id": opportunity_id, "bidder": bidder.lower()}
    if not lock:
        return session.exec(_PROPOSAL_OF, params=params).first()
    session.flush()  # a proposal made in this session is found
    found = _PROPOSAL_ID_LOCKED.execute(session.connection(), params).first()
    return None if found is None else session.get(Proposal, found[0], populate_existing=True)


def proposals(session: Session, opportunity_id: int, live_only: bool = False) -> list[Proposal]:
    query = select(Proposal).where(Proposal.opportunity_id == opportunity_id)
    if live_only:
        query = query.where(Proposal.status == "live")
    return list(session.exec(query.order_by(Proposal.submitted_at, Proposal.id)).all())


def live_count(session: Session, opportunity_id: int) -> int:
    return session.exec(
        select(sa.func.count()).select_from(Proposal).where(Proposal.opportunity_id == opportunity_id, Proposal.status == "live")
    ).one()


def live_and_scored(session: Session, opportunity_id: int) -> tuple[int, int]:
    """How many live proposals the opportunity has, and how many of them are scored: two
    counts in one statement, no proposal loaded (each carries its whole text)."""
    scored = sa.exists().where(Score.proposal_id == Proposal.id)
    live, with_score = session.exec(
        select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((scored, 1), else_=0)), 0))
        .select_from(Proposal)
        .where(Proposal.opportunity_id == opportunity_id, Proposal.status == "live")
    ).one()
    return int(live), int(with_score)


_PROPOSAL_COLUMNS = tuple(column.name for column in Proposal.__table__.columns if column.name != "id")
_PROPOSAL_INSERT = DriverStatement(sa.insert(Proposal.__table__).returning(Proposal.__table__.c.id), _PROPOSAL_COLUMNS)


def insert_proposal(session: Session, proposal: Proposal) -> Proposal:
    """A new proposal inserted at once by a statement built once: the unit of work's flush
    of one new row (and of whatever else was waiting) cost more than the insert itself.

    The object is returned detached, as the database holds it, and is not put in the
    session: a query there for the proposal loads its own. Were it in the session, a
    delivery's savepoint rolled back would leave it there for a row that is gone (and on
    SQLite the next proposal may take its id)."""
    proposal.id = _PROPOSAL_INSERT.execute(session.connection(), {name: getattr(proposal, name) for name in _PROPOSAL_COLUMNS}).scalar_one()
    make_transient_to_detached(proposal)
    return proposal


_VERSION_INSERT = DriverStatement(
    sa.insert(ProposalVersion.__table__),
    ("proposal_id", "version", "amount", "text", "sha256", "receipt_number", "comment_id", "comment_url", "delivery_id", "submitted_at"),
)


_PROPOSAL_FIELDS = ("current_version", "amount", "submitted_at", "status", "withdrawn_at", "receipt_number", "sha256")
_PROPOSAL_UPDATE = DriverStatement(
    sa.update(Proposal.__table__)
    .where(Proposal.__table__.c.id == sa.bindparam("row"))
    .values({name: sa.bindparam(f"new_{name}") for name in _PROPOSAL_FIELDS})
)


def record_version(session: Session, proposal: Proposal, version: dict[str, Any], terms: dict[str, Any], event: dict[str, Any]) -> None:
    """A proposal's new version (append-only), its current terms after it (every field of
    `_PROPOSAL_FIELDS`: the statement refuses fewer or more) and its audit event (`event`),
    written at once by statements built once, in one round trip to PostgreSQL
    (storage.compiled.run_together: they wait for no answer of one another), and the
    object told its terms are what the database holds. No ORM object for the version:
    nothing for the unit of work (`record` says why); the unit of work's flush of the
    one changed proposal cost more than its statement (a tenth of a bid's worker CPU)."""
    run_together(
        session.connection(),
        [
            (_VERSION_INSERT, version),
            (_PROPOSAL_UPDATE, {"row": proposal.id, **{f"new_{k}": v for k, v in terms.items()}}),
            (_AUDIT_INSERT, event),
        ],
    )
    for name, value in terms.items():
        set_committed_value(proposal, name, value)


def versions(session: Session, proposal_id: int) -> list[ProposalVersion]:
    return list(session.exec(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal_id).order_by(ProposalVersion.version)).all())


def latest_version(session: Session, proposal: Proposal) -> Optional[ProposalVersion]:
    return session.exec(
        select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id, ProposalVersion.version == proposal.current_version)
    ).first()


def all_versions(session: Session) -> Sequence[tuple[ProposalVersion, Proposal, Opportunity]]:
    return session.exec(
        select(ProposalVersion, Proposal, Opportunity)
        .join(Proposal, Proposal.id == ProposalVersion.proposal_id)
        .join(Opportunity, Opportunity.id == Proposal.opportunity_id)
        .order_by(Opportunity.id, Proposal.id, ProposalVersion.version)
    ).all()


# ---------------------------------------------------------------- scores and awards


def scores_for(session: Session, opportunity_id: int) -> list[Score]:
    return list(
        session.exec(
            select(Score).join(Proposal, Proposal.id == Score.proposal_id).where(Proposal.opportunity_id == opportunity_id).order_by(Score.id)
        ).all()
    )


def awards(session: Session, opportunity_id: int) -> list[Award]:
    return list(session.exec(select(Award).where(Award.opportunity_id == opportunity_id).order_by(Award.id)).all())


def pending_award(session: Session, opportunity_id: int) -> Optional[Award]:
    return session.exec(select(Award).where(Award.opportunity_id == opportunity_id, Award.status == "pending").order_by(Award.id.desc())).first()


def approved_award(session: Session, opportunity_id: int) -> Optional[Award]:
    return session.exec(select(Award).where(Award.opportunity_id == opportunity_id, Award.status == "approved")).first()


def award_by_review_issue(session: Session, repository: str, number: int) -> Optional[Award]:
    return session.exec(select(Award).where(Award.review_repository == repository, Award.review_issue_number == number)).first()


def award(session: Session, award_id: int) -> Optional[Award]:
    return session.get(Award, award_id)


def all_awards(session: Session) -> Sequence[tuple[Award, Opportunity]]:
    return session.exec(select(Award, Opportunity).join(Opportunity, Opportunity.id == Award.opportunity_id).order_by(Award.id)).all()


# ---------------------------------------------------------------- payments


def payment(session: Session, payment_id: int, lock: bool = False) -> Optional[Payment]:
    query = select(Payment).where(Payment.id == payment_id)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def payments(session: Session, opportunity_id: Optional[int] = None) -> list[Payment]:
    query = select(Payment).order_by(Payment.id)
    if opportunity_id is not None:
        query = query.where(Payment.opportunity_id == opportunity_id)
    return list(session.exec(query).all())


def all_payments(session: Session) -> Sequence[tuple[Payment, Opportunity, Milestone]]:
    return session.exec(
        select(Payment, Opportunity, Milestone)
        .join(Opportunity, Opportunity.id == Payment.opportunity_id)
        .join(Milestone, Milestone.id == Payment.milestone_id)
        .order_by(Payment.id)
    ).all()


def overdue_unnotified(session: Session, now: datetime) -> Sequence[tuple[Payment, Opportunity]]:
    return session.exec(
        select(Payment, Opportunity)
        .join(Opportunity, Opportunity.id == Payment.opportunity_id)
        .where(Payment.status == "payable", Payment.due_at < now, Payment.overdue_notified_at.is_(None))
        .limit(500)
    ).all()


def pull_request_link(session: Session, repository: str, number: int) -> Optional[PullRequestLink]:
    return session.exec(select(PullRequestLink).where(PullRequestLink.repository == repository, PullRequestLink.number == number)).first()


# ---------------------------------------------------------------- audit


_AUDIT_INSERT = DriverStatement(
    sa.insert(AuditEvent.__table__), ("opportunity_id", "actor", "kind", "detail", "delivery_id", "url", "at")
)


def event(
    *,
    kind: str,
    actor: str,
    opportunity_id: Optional[int],
    at: datetime,
    delivery_id: Optional[str] = None,
    url: Optional[str] = None,
    **detail: Any,
) -> dict[str, Any]:
    """An audit event's row, as `record` inserts it (`record_version` with a proposal's version)."""
    return {
        "opportunity_id": opportunity_id,
        "actor": actor,
        "kind": kind,
        "detail": json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
        "delivery_id": delivery_id,
        "url": url,
        "at": at,
    }


def record(session: Session, **fields: Any) -> None:
    """One audit event (`event` takes its fields), inserted at once with a Core statement
    built once: no ORM object for a row that is never read back or changed in the
    transaction that writes it (append-only), and none of the unit of work's cost on
    every bid."""
    _AUDIT_INSERT.execute(session.connection(), event(**fields))


def history(session: Session, opportunity_id: int) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.opportunity_id == opportunity_id).order_by(AuditEvent.id)).all())


def last_event(session: Session, opportunity_id: int, kind: str) -> Optional[AuditEvent]:
    return session.exec(
        select(AuditEvent).where(AuditEvent.opportunity_id == opportunity_id, AuditEvent.kind == kind).order_by(AuditEvent.id.desc()).limit(1)
    ).first()


def proposal(session: Session, proposal_id: int) -> Optional[Proposal]:
    return session.get(Proposal, proposal_id)
