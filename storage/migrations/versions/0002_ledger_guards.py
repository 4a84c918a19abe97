"""Ledger and audit guards enforced by the database itself.

- audit events and proposal versions are append-only: never updated or deleted;
- payments are never deleted, and their amount never changes;
- the payments of a contract never add up to more than its value.
(One payment per milestone is the unique constraint on payments.milestone_id.)

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_events", "proposal_versions")

SQLITE = [
    *[
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
        for table in APPEND_ONLY
    ],
    *[
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
        for table in APPEND_ONLY
    ],
    """CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
    BEGIN SELECT RAISE(ABORT, 'payments are never deleted'); END""",
    """CREATE TRIGGER payments_amount_fixed BEFORE UPDATE OF amount, milestone_id, opportunity_id ON payments
    WHEN NEW.amount <> OLD.amount OR NEW.milestone_id <> OLD.milestone_id OR NEW.opportunity_id <> OLD.opportunity_id
    BEGIN SELECT RAISE(ABORT, 'a payment amount never changes'); END""",
    """CREATE TRIGGER payments_within_contract BEFORE INSERT ON payments
    WHEN (SELECT contract_value FROM opportunities WHERE id = NEW.opportunity_id) IS NULL
      OR (SELECT COALESCE(SUM(amount), 0) FROM payments
          WHERE opportunity_id = NEW.opportunity_id AND status <> 'void') + NEW.amount
         > (SELECT contract_value FROM opportunities WHERE id = NEW.opportunity_id)
    BEGIN SELECT RAISE(ABORT, 'payments would exceed the contract value'); END""",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION devex_refuse() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '% on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]; END
    $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION devex_refuse('append-only')"""
        for table in APPEND_ONLY
    ],
    """CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION devex_refuse('payments are never deleted')""",
    """CREATE TRIGGER payments_amount_fixed BEFORE UPDATE ON payments
    FOR EACH ROW WHEN (NEW.amount <> OLD.amount OR NEW.milestone_id <> OLD.milestone_id
                       OR NEW.opportunity_id <> OLD.opportunity_id)
    EXECUTE FUNCTION devex_refuse('a payment amount never changes')""",
    # The opportunity row is locked first so two concurrent inserts for one
    # contract cannot both read the old total.
    """CREATE OR REPLACE FUNCTION devex_payments_within_contract() RETURNS trigger AS $$
    DECLARE cap numeric; total numeric;
    BEGIN
      SELECT contract_value INTO cap FROM opportunities WHERE id = NEW.opportunity_id FOR UPDATE;
      SELECT COALESCE(SUM(amount), 0) INTO total FROM payments
        WHERE opportunity_id = NEW.opportunity_id AND status <> 'void';
      IF cap IS NULL OR total + NEW.amount > cap THEN
        RAISE EXCEPTION 'payments would exceed the contract value';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER payments_within_contract BEFORE INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION devex_payments_within_contract()""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE if dialect == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    names = [f"{t}_no_update" for t in APPEND_ONLY] + [f"{t}_no_delete" for t in APPEND_ONLY]
    if dialect == "sqlite":
        for name in names + ["payments_no_delete", "payments_amount_fixed", "payments_within_contract"]:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        for name in ("payments_no_delete", "payments_amount_fixed", "payments_within_contract"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON payments")
        op.execute("DROP FUNCTION IF EXISTS devex_payments_within_contract()")
        op.execute("DROP FUNCTION IF EXISTS devex_refuse()")
