"""Small helpers shared by the spine's test modules (not a test module itself)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import REPO

# An opportunity issue body as GitHub renders the shipped issue form.
OPEN_FORM = (
    "### Value\n\n9,500.00\n\n### Proposal deadline\n\n2026-12-01\n\n### Problem\n\nOur builds take an hour.\n\n"
    "### Acceptance criteria\n\nBuilds take ten minutes; tests pass.\n\n### Milestones\n\n_No response_\n\n"
    "### Evaluation criteria\n\n_No response_\n\n### Skills\n\n_No response_"
)


def open_opportunity(harness, title: str = "Speed up the build", body: str = OPEN_FORM, login: str = "pm-alice") -> int:
    """An issue opened, then labelled `opportunity` by an issuer, and everything run; its number."""
    number = harness.sim.open_issue(REPO, title, body, login)["number"]
    harness.act(harness.sim.human_label(REPO, number, login, "opportunity"))
    harness.run()
    return number


def deliveries(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM deliveries ORDER BY id"))]


def writes(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM github_writes ORDER BY id"))]


def statuses(engine) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in deliveries(engine):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


# For tests where the database is not the point (a refusal before anything is stored,
# GitHub's faults, fuzzing): SQLite alone keeps `make test` fast; the storage paths
# they share run on both databases in the tests not marked so.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
