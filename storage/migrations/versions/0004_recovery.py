"""Missed-delivery recovery: the redeliveries asked of GitHub, and how far back it looked.

Revision ID: 0004_recovery
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0004_recovery"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_redeliveries",
        sa.Column("guid", sa.String(length=100), nullable=False),
        sa.Column("hook_delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("first_delivered_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("guid"),
    )
    op.create_table(
        "hook_recovery_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("newest_delivered_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("newest_id", sa.BigInteger(), nullable=False),
        sa.Column("looked_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("hook_recovery_marks")
    op.drop_table("hook_redeliveries")
