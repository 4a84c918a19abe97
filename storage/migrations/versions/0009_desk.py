"""The bidder's desk: forms sent from the desk and their outcomes.

Revision ID: 0009_desk
Revises: 0008_integrity
"""
import sqlalchemy as sa
from alembic import op

from storage.columns import UTCDateTime

revision = "0009_desk"
down_revision = "0008_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("opportunity_id", sa.Integer),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(40)),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime()),
    )
    op.create_index("ix_desk_requests_user_id", "desk_requests", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_desk_requests_user_id", table_name="desk_requests")
    op.drop_table("desk_requests")
