"""Merges that did not pass acceptance, kept for a contract officer's `/accept`;
the priority of a pending write (a sealed bid's deletion goes first).

Revision ID: 0008_integrity
Revises: 0007_finance
"""
import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0008_integrity"
down_revision = "0007_finance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("github_writes") as batch:
        batch.add_column(sa.Column("priority", sa.Integer, nullable=False, server_default="0"))
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
    with op.batch_alter_table("github_writes") as batch:
        batch.drop_column("priority")
    op.drop_table("merge_acceptances")
