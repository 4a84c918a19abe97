"""Alerts: email subscriptions, the hourly confirmation limit per address, the mail outbox.

Revision ID: 0005_alerts
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0005_alerts"
down_revision = "0004_recovery"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 2, asdecimal=True)


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("skill", sa.String(100), nullable=True),
        sa.Column("org", sa.String(100), nullable=True),
        sa.Column("min_value", MONEY, nullable=True),
        sa.Column("max_value", MONEY, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_alert_subscriptions_address_hash", "alert_subscriptions", ["address_hash"])
    op.create_index("ix_alert_subscriptions_status", "alert_subscriptions", ["status"])
    op.create_table(
        "alert_addresses",
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("last_requested_at", UTCDateTime(), nullable=True),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("alert_subscriptions.id"), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunities.id"), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("address_hash", "opportunity_id", name="uq_mail_address_opportunity"),
    )
    op.create_index("ix_mail_outbox_subscription_id", "mail_outbox", ["subscription_id"])
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("alert_addresses")
    op.drop_table("alert_subscriptions")
