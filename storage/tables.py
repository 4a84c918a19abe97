"""The database tables of a procurement (the pipeline's own are in `storage.pipeline_tables`,
imported here too, so `storage.tables` names every table).

Every table is an SQLModel class. Money is ``Numeric(12, 2)`` read back as
``Decimal``; every timestamp is stored as UTC and read back timezone-aware
(see ``UTCDateTime``). The ledger invariants (one payment per milestone,
payments never above the contract value, payment rows never deleted) are
enforced by the database itself: constraints here, triggers in the migration.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel
from storage.columns import MONEY, UTCDateTime, utcnow  # noqa: F401  (every table module's types)
from storage.pipeline_tables import (  # noqa: F401  (one import path for every table)
    Delivery,
    GitHubWrite,
    HookRecoveryMark,
    HookRedelivery,
    Installation,
    InstallationRepository,
    RepoConfigCache,
)


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
    # The public board (storage/board.py): whether the issue's repository is private
    # (the webhook's `repository.private`; unknown counts as private), whether its
    # `.github/devex.yml` keeps it on the board (`board`), and when it first opened.
    repository_private: Optional[bool] = Field(default=None)
    on_board: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true()))
    opened_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (
        sa.UniqueConstraint("repository", "issue_number", name="uq_opportunity_issue"),
        # The board's list and feed: listed rows of a state, newest first.
        sa.Index("ix_opportunities_board", "on_board", "repository_private", "state", "opened_at", "id"),
    )


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
    # awaiting-certification, payable, paid, void; "overdue" is derived from due_at and shown, not stored.
    status: str = Field(default="payable", sa_column=sa.Column(sa.String(40), nullable=False))
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


# --------------------------------------------------------------------------
# Finance and governance (issue 17): the Financial Administration Act's controls.


class FundsCommitment(SQLModel, table=True):
    """`/commit REFERENCE` (section 32): funds committed for an opportunity, by a finance officer.

    Kept, never replaced: a later commitment (after the value was raised) is a
    new row, and the latest one counts.
    """

    __tablename__ = "funds_commitments"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    reference: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The opportunity's value the commitment covers.
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    committed_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    committed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    comment_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))


class Certification(SQLModel, table=True):
    """`/certify PAYMENT_ID` (section 34): the work of a payment certified, by someone not the contractor."""

    __tablename__ = "certifications"

    id: Optional[int] = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payments.id", nullable=False, unique=True)
    certified_by: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    certified_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    comment_url: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
class MergeAcceptance(SQLModel, table=True):
    """A merged pull request of the contractor that did not pass acceptance: kept
    so that a contract officer's `/accept REASON` can record its payment later."""

    __tablename__ = "merge_acceptances"

    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunities.id", nullable=False, index=True)
    repository: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    number: int = Field(nullable=False)
    author: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    html_url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    merged_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    merged_by: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    milestone_wanted: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    failed: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # the gates, comma-separated
    status: str = Field(default="refused", sa_column=sa.Column(sa.String(20), nullable=False))  # refused, accepted
    accepted_by: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    accepted_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    reason: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    payment_id: Optional[int] = Field(default=None, foreign_key="payments.id")

    __table_args__ = (sa.UniqueConstraint("repository", "number", name="uq_merge_acceptance"),)


metadata = SQLModel.metadata


# --------------------------------------------------------------------------
# Alerts (PRODUCT.md "Alerts"): email subscriptions and the mail outbox.


class AlertSubscription(SQLModel, table=True):
    """An address's saved search. The address is kept only while it is needed to
    send (pending a confirmation that has not expired, or confirmed); it is erased
    when the subscription ends. `address_hash` (an HMAC of the address) remains."""

    __tablename__ = "alert_subscriptions"

    id: Optional[int] = Field(default=None, primary_key=True)
    email: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(254)))
    address_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    language: str = Field(sa_column=sa.Column(sa.String(2), nullable=False))
    skill: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    org: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    min_value: Optional[Decimal] = Field(default=None, sa_column=sa.Column(MONEY))
    max_value: Optional[Decimal] = Field(default=None, sa_column=sa.Column(MONEY))
    # pending, confirmed, replaced (by a later confirmed search of the same address),
    # unsubscribed, expired (never confirmed), refused (the mail server refused the address)
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False, index=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    confirmed_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    ended_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class AlertAddress(SQLModel, table=True):
    """Per address (its hash only), for the hourly limit on confirmations: when the form
    last asked for one, and when one was last sent."""

    __tablename__ = "alert_addresses"

    address_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    last_requested_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    last_sent_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class MailMessage(SQLModel, table=True):
    """A message owed (the mail outbox): stored in the transaction that decided it,
    sent at most once by the mailer, retried on SMTP failure, never dropped."""

    __tablename__ = "mail_outbox"

    id: Optional[int] = Field(default=None, primary_key=True)
    # confirm (the double opt-in message) or alert (one new opportunity)
    kind: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    subscription_id: int = Field(foreign_key="alert_subscriptions.id", nullable=False, index=True)
    address_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    opportunity_id: Optional[int] = Field(default=None, foreign_key="opportunities.id")
    # pending, sent, cancelled (no longer wanted when its turn came), refused (for good)
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False))
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (
        # One message per opportunity and address, whatever the subscriptions (NULL for
        # confirmations, which the hourly limit bounds instead).
        sa.UniqueConstraint("address_hash", "opportunity_id", name="uq_mail_address_opportunity"),
        sa.Index("ix_mail_outbox_due", "status", "next_attempt_at", "id"),
    )


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
