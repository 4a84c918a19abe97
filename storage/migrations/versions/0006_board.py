"""The public board: what may be listed, when each opportunity opened, and search.

- `opportunities.repository_private` (the webhook's `repository.private`;
  unknown counts as private), `on_board` (`board` of `.github/devex.yml`) and
  `opened_at` (when the opportunity first opened: the board's "newest first").
- An index for the board's list and feed: listed rows of a state, newest first.
- Words of the title, problem and skills: an FTS5 table kept by triggers on
  SQLite, GIN indexes over `to_tsvector('simple', ...)` on PostgreSQL (the
  expressions in storage/board.py must stay the same as here).

Existing rows: `repository_private` from the installation's repositories
where known, `opened_at` from the audit trail's first move to `open`.

Revision ID: 0006_board
Revises: 0005_alerts
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_board"
down_revision = "0005_alerts"
branch_labels = None
depends_on = None

# The same expressions as storage/board.py's WORDS_PG and SKILLS_PG.
WORDS_PG = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(problem, '') || ' ' || coalesce(skills, ''))"
SKILLS_PG = "to_tsvector('simple', coalesce(skills, ''))"

SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE opportunity_search USING fts5(
         title, problem, skills, content='opportunities', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER opportunity_search_insert AFTER INSERT ON opportunities BEGIN
         INSERT INTO opportunity_search (rowid, title, problem, skills) VALUES (new.id, new.title, new.problem, new.skills);
       END""",
    """CREATE TRIGGER opportunity_search_delete AFTER DELETE ON opportunities BEGIN
         INSERT INTO opportunity_search (opportunity_search, rowid, title, problem, skills)
         VALUES ('delete', old.id, old.title, old.problem, old.skills);
       END""",
    """CREATE TRIGGER opportunity_search_update AFTER UPDATE OF title, problem, skills ON opportunities BEGIN
         INSERT INTO opportunity_search (opportunity_search, rowid, title, problem, skills)
         VALUES ('delete', old.id, old.title, old.problem, old.skills);
         INSERT INTO opportunity_search (rowid, title, problem, skills) VALUES (new.id, new.title, new.problem, new.skills);
       END""",
    "INSERT INTO opportunity_search (opportunity_search) VALUES ('rebuild')",
]

BACKFILL = [
    """UPDATE opportunities SET repository_private = (
         SELECT r.private FROM installation_repositories r WHERE r.full_name = opportunities.repository
         AND r.private IS NOT NULL ORDER BY r.private DESC LIMIT 1)""",
    """UPDATE opportunities SET opened_at = (
         SELECT min(e.at) FROM audit_events e WHERE e.opportunity_id = opportunities.id
         AND e.kind = 'state_changed' AND e.detail LIKE '%"to": "open"%')""",
]


def upgrade() -> None:
    op.add_column("opportunities", sa.Column("repository_private", sa.Boolean(), nullable=True))
    op.add_column("opportunities", sa.Column("on_board", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("opportunities", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_opportunities_board", "opportunities", ["on_board", "repository_private", "state", "opened_at", "id"])
    for statement in BACKFILL:
        op.execute(statement)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_opportunities_words ON opportunities USING gin ({WORDS_PG})")
        op.execute(f"CREATE INDEX ix_opportunities_skills ON opportunities USING gin ({SKILLS_PG})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS opportunity_search_{name}")
        op.execute("DROP TABLE IF EXISTS opportunity_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_opportunities_words")
        op.execute("DROP INDEX IF EXISTS ix_opportunities_skills")
    op.drop_index("ix_opportunities_board", table_name="opportunities")
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("opened_at")
        batch.drop_column("on_board")
        batch.drop_column("repository_private")
