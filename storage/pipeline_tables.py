"""The pipeline's tables: the inbox of deliveries, the outbox of GitHub writes,
installations, the cached repository configuration, and what missed-delivery
recovery asked GitHub for. No procurement word here (those are in `storage.tables`)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime, utcnow


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
    ordering_key: str = Field(sa_column=sa.Column(sa.String(250), nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="pending", sa_column=sa.Column(sa.String(20), nullable=False))
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    received_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    processed_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))

    __table_args__ = (
        # The next due (the worker's claim) and, for each, whether an older one of its key is
        # still pending: both by index seeks (issue 18), whatever the backlog.
        sa.Index("ix_deliveries_claim", "status", "next_attempt_at", "id"),
        sa.Index("ix_deliveries_key_pending", "ordering_key", "status", "id"),
    )


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
    # Higher goes first among an installation's pending writes (a sealed bid's deletion: 1).
    priority: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))
    delivery_id: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(100)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    sent_at: Optional[datetime] = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    result: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))

    # An installation's head (highest priority, then oldest) and the writes behind it, by index seeks.
    __table_args__ = (sa.Index("ix_github_writes_head", "status", "installation_id", "priority", "id"),)


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
# Missed deliveries (PRODUCT.md "Missed deliveries"): what recovery asked GitHub for.


class HookRedelivery(SQLModel, table=True):
    """A delivery (GUID) GitHub was asked to send again. The row is the claim:
    whoever inserts it asks GitHub, so several processes ask once per GUID."""

    __tablename__ = "hook_redeliveries"

    guid: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    # GitHub's id of the attempt named in the request (`POST /app/hook/deliveries/{id}/attempts`).
    hook_delivery_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    event: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(60)))
    action: Optional[str] = Field(default=None, sa_column=sa.Column(sa.String(60)))
    # requested, refused (GitHub said no for good: too old) or failed (asking failed; asked again later)
    status: str = Field(default="requested", sa_column=sa.Column(sa.String(20), nullable=False))
    requests: int = Field(default=1)
    first_delivered_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    requested_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    detail: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text))


class HookRecoveryMark(SQLModel, table=True):
    """How far back the last recovery pass read GitHub's list of deliveries."""

    __tablename__ = "hook_recovery_marks"

    name: str = Field(sa_column=sa.Column(sa.String(40), primary_key=True))
    newest_delivered_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    newest_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    looked_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
