"""Finance and governance: funds commitments (FAA s. 32) and certifications (s. 34).

A payment may now also be `awaiting-certification` (`payments.status` is
widened to 40 characters for it; the contract-value guard of 0002/0003 counts every
payment that is not void, so an uncertified payment is counted too, as it
must be). Both new tables are append-only: a commitment or a certification,
once recorded, is never changed or deleted.

Revision ID: 0007_finance
Revises: 0006_board
"""
import sqlalchemy as sa
from alembic import op

from storage.tables import MONEY, UTCDateTime

revision = "0007_finance"
down_revision = "0006_board"
branch_labels = None
depends_on = None

APPEND_ONLY = ("funds_commitments", "certifications")


def upgrade() -> None:
    # "awaiting-certification" is longer than the 20 characters payments.status had
    # (SQLite does not enforce a VARCHAR length; PostgreSQL does).
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("payments", "status", type_=sa.String(40), existing_nullable=False)
    op.create_table(
        "funds_commitments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("opportunity_id", sa.Integer(), sa.ForeignKey("opportunities.id"), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("committed_by", sa.String(100), nullable=False),
        sa.Column("committed_at", UTCDateTime(), nullable=False),
        sa.Column("comment_url", sa.Text()),
    )
    op.create_index("ix_funds_commitments_opportunity_id", "funds_commitments", ["opportunity_id"])
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False, unique=True),
        sa.Column("certified_by", sa.String(100), nullable=False),
        sa.Column("certified_at", UTCDateTime(), nullable=False),
        sa.Column("comment_url", sa.Text()),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            op.execute(
                f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
            )
            op.execute(
                f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
            )
    else:
        for table in APPEND_ONLY:
            op.execute(
                f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION devex_refuse('append-only')"""
            )


def downgrade() -> None:
    op.drop_table("certifications")
    op.drop_index("ix_funds_commitments_opportunity_id", "funds_commitments")
    op.drop_table("funds_commitments")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("payments", "status", type_=sa.String(20), existing_nullable=False)
