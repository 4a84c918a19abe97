"""The database tables, in procurement terms.

Every table is an SQLModel class. Money is ``Numeric(12, 2)`` read back as
``Decimal``; every timestamp is stored as UTC and read back timezone-aware
(see ``UTCDateTime``). The ledger invariants (one payment per milestone,
payments never above the contract value, payment rows never deleted) are
enforced by the database itself: constraints here, triggers in the migration.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; SQLite gives back naive ones, so re-attach UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: time is timezone-aware here")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


MONEY = sa.Numeric(12, 2, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------
# The spine: deliveries in, GitHub writes out, installations.


class Delivery(SQLModel, table=True):
    """One webhook delivery, stored before GitHub gets its 2xx (the inbox)."""

    __tablename__ = "deliveries"

    id: Optional[int] = Field(default=None, primary_key=True)
    delivery_id: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, unique=True))
    event: str = Field(sa_column=sa.Column(sa.String(60), nullable=False))
    action: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(60)))
    installation_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    repository: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(200)))
    # Deliveries with the same key take effect one at a time, in order received.
    ordering_key: str = Field(sa_column=sa.Column(sa.String(250), nullable=False, index=True))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    received_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    processed_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (sa.Index("ix_deliveries_claim", "status", "next_attempt_at", "id"),)


class GitHubWrite(SQLModel, table=True):
    """A write owed to GitHub (the outbox): committed with the state it reports."""

    __tablename__ = "github_writes"

    id: Optional[int] = Field(default=None, primary_key=True)
    installation_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    # "request" (a plain REST call) or a named write rendered when it is sent,
    # such as "summary", so that many bids make one summary edit.
    kind: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    method: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(10)))
    path: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(500)))
    body: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    # What to do with GitHub's answer, e.g. remember the summary comment's id.
    then: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    coalesce_key: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(200), index=True))
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False))
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    delivery_id: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    result: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))

    __table_args__ = (sa.Index("ix_github_writes_queue", "status", "installation_id", "id"),)


class Installation(SQLModel, table=True):
    __tablename__ = "installations"

    id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    account: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    # active, suspended or deleted: only active installations get calls.
    status: str = Field(default="active", sa_column=sa.Column(sa.String(20), nullable=False))
    # When the app last wrote to GitHub for this installation (write pacing).
    last_write_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class InstallationRepository(SQLModel, table=True):
    __tablename__ = "installation_repositories"

    installation_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    full_name: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    private: Optional[bool] = Field(default=None)


class RepoConfigCache(SQLModel, table=True):
    """The parsed `.github/devex.yml` of a repository, refreshed on push."""

    __tablename__ = "repo_configs"

    repository: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    text: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    fetched_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


# --------------------------------------------------------------------------
# Procurement.


class Opportunity(SQLModel, table=True):
    __tablename__ = "opportunities"

    id: Optional[int] = Field(default=None, primary_key=True)
    installation_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    repository: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    issue_number: int = Field(nullable=False)
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    html_url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    author: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    value: Optional[Decimal] = Field(default=None, sa_column=sa.Column(MONEY))
    deadline: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime(), index=True))
    problem: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    acceptance_criteria: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    evaluation_criteria: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    skills: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    bidding: str = Field(default="sealed", sa_column=sa.Column(sa.String(10), nullable=False))
    amounts_include_tax: bool = Field(default=True)
    timezone: str = Field(default="America/Toronto", sa_column=sa.Column(sa.String(60), nullable=False))
    review_repository: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(200)))
    review_repository_private: Optional[bool] = Field(default=None)
    summary_comment_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    problems_comment_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    evaluation_issue_number: Optional[int] = Field(default=None)
    evaluation_issue_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    no_proposal_notice: bool = Field(default=False)
    contractor: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    # The approved award's amount: payments never add up to more (a trigger checks).
    contract_value: Optional[Decimal] = Field(default=None, sa_column=sa.Column(MONEY))
    overdue_checked_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))

    __table_args__ = (sa.UniqueConstraint("repository", "issue_number", name="uq_opportunity_issue"),)


class Milestone(SQLModel, table=True):
    __tablename__ = "milestones"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    position: int = Field(nullable=False)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    # This milestone's share of the approved award (the award may be below the value).
    contract_amount: Optional[Decimal] = Field(default=None, sa_column=sa.Column(MONEY))
    # open, accepted or void (a terminated contract voids what is unpaid).
    status: str = Field(default="open", sa_column=sa.Column(sa.String(20), nullable=False))

    __table_args__ = (
        sa.UniqueConstraint("opportunity_id", "position", name="uq_milestone_position"),
        sa.CheckConstraint("amount > 0", name="ck_milestone_positive"),
    )


class Registration(SQLModel, table=True):
    """A bidder's attestation (`/register`), per GitHub user."""

    __tablename__ = "registrations"

    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(sa_column=sa.Column(sa.String(100), nullable=False, index=True))
    user_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    terms_url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    terms_version: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    comment_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    registered_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class Proposal(SQLModel, table=True):
    """A bidder's proposal on one opportunity; its versions are kept apart."""

    __tablename__ = "proposals"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    bidder: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    # live or withdrawn
    status: str = Field(default="live", sa_column=sa.Column(sa.String(20), nullable=False))
    current_version: int = Field(default=1)
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    receipt_number: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    withdrawn_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (sa.UniqueConstraint("opportunity_id", "bidder", name="uq_proposal_bidder"),)


class ProposalVersion(SQLModel, table=True):
    __tablename__ = "proposal_versions"

    id: Optional[int] = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", nullable=False, index=True)
    version: int = Field(nullable=False)
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    receipt_number: str = Field(sa_column=sa.Column(sa.String(40), nullable=False, unique=True))
    comment_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    comment_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    delivery_id: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))

    __table_args__ = (sa.UniqueConstraint("proposal_id", "version", name="uq_proposal_version"),)


class Score(SQLModel, table=True):
    """One evaluator's score of one proposal; later rows replace earlier ones."""

    __tablename__ = "scores"

    id: Optional[int] = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", nullable=False, index=True)
    evaluator: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    score: int = Field(nullable=False)
    note: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    comment_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    scored_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))

    __table_args__ = (sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_score_range"),)


class Award(SQLModel, table=True):
    __tablename__ = "awards"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    proposal_id: int = Field(foreign_key="proposals.id", nullable=False)
    contractor: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    recommended_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    reason: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    highest_ranked: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    # pending, approved, rejected, cancelled
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False))
    review_repository: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    review_issue_number: Optional[int] = Field(default=None)
    review_issue_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    recommended_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    decided_by: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    decided_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    decision_reason: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    # One payment per milestone, enforced by the database.
    milestone_id: int = Field(foreign_key="milestones.id", nullable=False, unique=True)
    contractor: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    pull_request_url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    pull_request_number: int = Field(nullable=False)
    merged_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    merged_by: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    # payable, paid, void; "overdue" is derived from due_at and shown, not stored.
    status: str = Field(default="payable", sa_column=sa.Column(sa.String(20), nullable=False))
    paid_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    paid_by: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    reference: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    overdue_notified_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    revert_flagged_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (sa.CheckConstraint("amount > 0", name="ck_payment_positive"),)


class PullRequestLink(SQLModel, table=True):
    """The one comment the bot keeps on a pull request tied to an opportunity."""

    __tablename__ = "pull_request_links"

    id: Optional[int] = Field(default=None, primary_key=True)
    repository: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    number: int = Field(nullable=False)
    opportunity_id: Optional[int] = Field(default=None, foreign_key="opportunities.id")
    comment_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger))

    __table_args__ = (sa.UniqueConstraint("repository", "number", name="uq_pull_request"),)


class AuditEvent(SQLModel, table=True):
    """Append-only audit trail: never updated, never deleted (triggers enforce it)."""

    __tablename__ = "audit_events"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.Integer, index=True))
    actor: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(60), nullable=False))
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    delivery_id: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


metadata = SQLModel.metadata


# --------------------------------------------------------------------------
# The bidder's desk.


class DeskRequest(SQLModel, table=True):
    """A form sent from the desk (register, bid, withdraw), applied by the worker in
    the issue's order; its outcome is what the desk shows its sender. Never holds
    the amount or the text (they travel in the inbox delivery and land in the
    proposal's version)."""

    __tablename__ = "desk_requests"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    login: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    user_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    opportunity_id: Optional[int] = Field(default=None, sa_column=sa.Column(sa.Integer))
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False))
    outcome: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(40)))
    params: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    done_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
