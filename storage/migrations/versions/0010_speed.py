"""The outbox's head found by index seeks: (status, installation, priority, id)
instead of (status, installation, id), which left the sender reading every
pending write of an installation on each claim (issue 18).

Revision ID: 0010_speed
Revises: 0009_desk
"""
from alembic import op

revision = "0010_speed"
down_revision = "0009_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_github_writes_head", "github_writes", ["status", "installation_id", "priority", "id"])
    op.drop_index("ix_github_writes_queue", table_name="github_writes")


def downgrade() -> None:
    op.create_index("ix_github_writes_queue", "github_writes", ["status", "installation_id", "id"])
    op.drop_index("ix_github_writes_head", table_name="github_writes")
