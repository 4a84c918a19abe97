"""SQLite: the contract-value guard on payments compares whole cents.

SQLite keeps NUMERIC amounts as floating point, so 0002's sum could exceed the
cap by a rounding error: 9,390.79 + 472.84 > 9,863.63 there, and the last
milestone of a contract of exactly that value could never be paid. The guard
now rounds every amount to whole cents before adding. PostgreSQL's numeric is
exact and keeps 0002's trigger.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

IN_CENTS = """CREATE TRIGGER payments_within_contract BEFORE INSERT ON payments
WHEN (SELECT contract_value FROM opportunities WHERE id = NEW.opportunity_id) IS NULL
  OR (SELECT COALESCE(SUM(CAST(ROUND(amount * 100) AS INTEGER)), 0) FROM payments
      WHERE opportunity_id = NEW.opportunity_id AND status <> 'void')
     + CAST(ROUND(NEW.amount * 100) AS INTEGER)
     > (SELECT CAST(ROUND(contract_value * 100) AS INTEGER) FROM opportunities WHERE id = NEW.opportunity_id)
BEGIN SELECT RAISE(ABORT, 'payments would exceed the contract value'); END"""

IN_FLOATS = """CREATE TRIGGER payments_within_contract BEFORE INSERT ON payments
WHEN (SELECT contract_value FROM opportunities WHERE id = NEW.opportunity_id) IS NULL
  OR (SELECT COALESCE(SUM(amount), 0) FROM payments
      WHERE opportunity_id = NEW.opportunity_id AND status <> 'void') + NEW.amount
     > (SELECT contract_value FROM opportunities WHERE id = NEW.opportunity_id)
BEGIN SELECT RAISE(ABORT, 'payments would exceed the contract value'); END"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS payments_within_contract")
        op.execute(IN_CENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS payments_within_contract")
        op.execute(IN_FLOATS)
