"""Merges that did not pass acceptance, kept for a contract officer's `/accept`.

Revision ID: 0004_integrity
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0004_integrity"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merge_acceptances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id"), nullable=False, index=True),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("html_url", sa.Text, nullable=False),
        sa.Column("merged_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(100)),
        sa.Column("milestone_wanted", sa.Text),
        sa.Column("failed", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("accepted_by", sa.String(100)),
        sa.Column("accepted_at", UTCDateTime(timezone=True)),
        sa.Column("reason", sa.Text),
        sa.Column("payment_id", sa.Integer, sa.ForeignKey("payments.id")),
        sa.UniqueConstraint("repository", "number", name="uq_merge_acceptance"),
    )


def downgrade() -> None:
    op.drop_table("merge_acceptances")
