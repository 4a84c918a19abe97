"""Reads and writes of pay on pull: pull request links, payments, milestones of a contract.

The ledger's invariants (one payment per milestone, never above the contract
value, never deleted) are the database's (constraints and triggers); these
functions only read and write rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.tables import Milestone, Opportunity, Payment, PullRequestLink


def link(session: Session, link_id: int) -> Optional[PullRequestLink]:
    return session.get(PullRequestLink, link_id)


def link_pull_request(session: Session, repository: str, number: int, opportunity_id: Optional[int]) -> PullRequestLink:
    """The pull request's link row, created on first sight, pointing at the opportunity it names now."""
    row = session.exec(
        select(PullRequestLink).where(PullRequestLink.repository == repository, PullRequestLink.number == number).with_for_update()
    ).first()
    if row is None:
        row = PullRequestLink(repository=repository, number=number, opportunity_id=opportunity_id)
    else:
        row.opportunity_id = opportunity_id
    session.add(row)
    session.flush()
    return row


def opportunities_named(session: Session, installation_id: int, references: list[tuple[str, int]]) -> list[Opportunity]:
    """The opportunities of this installation among (repository, issue number) pairs, in their order."""
    found = []
    for repository, number in references:
        row = session.exec(
            select(Opportunity).where(
                sa.func.lower(Opportunity.repository) == repository.lower(),
                Opportunity.issue_number == number,
                Opportunity.installation_id == installation_id,
            )
        ).first()
        if row is not None and all(row.id != f.id for f in found):
            found.append(row)
    return found


def lock_opportunity(session: Session, opportunity_id: int) -> Optional[Opportunity]:
    """The opportunity, its row locked until commit: payments of one contract are decided one at a time."""
    return session.exec(select(Opportunity).where(Opportunity.id == opportunity_id).with_for_update()).first()


def committed(session: Session, opportunity_id: int) -> Decimal:
    """What the contract's payments that are not void add up to."""
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(Payment.opportunity_id == opportunity_id, Payment.status != "void")
    ).one()
    return Decimal(total).quantize(Decimal("0.01"))


def payment_of_pull_request(session: Session, repository: str, number: int) -> Optional[Payment]:
    """The payment a merged pull request made (its URL ends `/owner/repo/pull/N` on any host)."""
    return session.exec(
        select(Payment).where(
            Payment.pull_request_number == number,
            sa.func.lower(Payment.pull_request_url).endswith(f"/{repository.lower()}/pull/{number}", autoescape=True),
        )
    ).first()


def milestone(session: Session, milestone_id: int) -> Optional[Milestone]:
    return session.get(Milestone, milestone_id)


def add_payment(session: Session, payment: Payment) -> Payment:
    session.add(payment)
    session.flush()
    return payment


def void_open_milestones(session: Session, opportunity_id: int) -> list[Milestone]:
    """A terminated contract: milestones not yet earned become void."""
    rows = list(session.exec(select(Milestone).where(Milestone.opportunity_id == opportunity_id, Milestone.status == "open")).all())
    for row in rows:
        row.status = "void"
        session.add(row)
    session.flush()
    return rows
