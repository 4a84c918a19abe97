"""`devex-bot migrate`, `receive EVENT FILE [--dry-run]` and `export` (issue 2.7, 2.9)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import respx
import sqlalchemy as sa

from bot.cli import main
from tests.conftest import payload
from tests.spine import open_opportunity

TABLES = {"deliveries", "github_writes", "installations", "opportunities", "proposals", "registrations", "alembic_version"}


def form(deadline: str) -> str:
    return (
        f"### Value\n\n9,500.00\n\n### Proposal deadline\n\n{deadline}\n\n### Problem\n\nOur builds take an hour.\n\n"
        "### Acceptance criteria\n\nTen minutes.\n\n### Milestones\n\n_No response_\n\n"
        "### Evaluation criteria\n\n_No response_\n\n### Skills\n\n_No response_"
    )


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'fresh' / 'devex.db'}"
    (tmp_path / "fresh").mkdir()
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH", "GITHUB_WEBHOOK_SECRET", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return url


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_a_fresh_sqlite_file(database, capsys):
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "database schema at revision" in out
    assert TABLES <= tables(database)
    # Again: nothing to do, same revision.
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == out


def test_export_refuses_a_database_without_schema(database):
    with pytest.raises(SystemExit) as stop:
        main(["export", "proposals"])
    assert "devex-bot migrate" in str(stop.value)


def _write(tmp_path, name: str, data: dict):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_receive_dry_run_prints_the_github_calls_and_makes_none(database, tmp_path, capsys):
    assert main(["migrate"]) == 0
    capsys.readouterr()
    deadline = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%d")

    labeled = payload("issues", "labeled")
    labeled["label"]["name"] = "opportunity"
    labeled["issue"]["body"] = form(deadline)
    labeled["installation"] = payload("issue_comment", "created.with-installation")["installation"]
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as network:
        assert main(["receive", "issues", _write(tmp_path, "labeled.json", labeled), "--dry-run"]) == 0
        opened = capsys.readouterr().out
        # A dry run leaves nothing behind (tests/test_receive.py compares the whole
        # database): the same delivery again is handled again, the same way.
        assert main(["receive", "issues", _write(tmp_path, "labeled.json", labeled), "--dry-run", "--delivery-id", "x"]) == 0
        again = capsys.readouterr().out
        assert main(["receive", "issues", _write(tmp_path, "labeled.json", labeled), "--dry-run", "--delivery-id", "x"]) == 0
        assert capsys.readouterr().out == again
        assert network.calls.call_count == 0
    assert "POST /repos/Codertocat/Hello-World/issues/1/labels" in opened and "devex:open" in opened
    # Every write the delivery owes is printed, not only the first (the others are not left pending).
    assert "POST /repos/Codertocat/Hello-World/issues/1/comments" in opened and "## Opportunity:" in opened
    assert "dry run: the GitHub calls above were not made" in opened
    assert "was received before" not in again and "devex:open" in again


def test_receive_an_event_the_app_does_not_handle(database, tmp_path, capsys):
    assert main(["receive", "issues", _write(tmp_path, "pinned.json", payload("issues", "pinned")), "--dry-run"]) == 0
    assert "not handled by devex-bot" in capsys.readouterr().out


def test_receive_refuses_a_file_that_is_not_an_object(database, tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(SystemExit) as stop:
        main(["receive", "issues", str(path), "--dry-run"])
    assert "not a JSON object" in str(stop.value)


def test_export_proposals_as_json_and_csv(harness, sim, db_url, monkeypatch, capsys):
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9,000.00\nFirst try")
    harness.comment(number, "bidder-bob", "/bid 8 500,00 $\nBetter")
    harness.comment(number, "bidder-carol", "/register")
    harness.comment(number, "bidder-carol", "/bid $9500\nMine")
    monkeypatch.setenv("DATABASE_URL", db_url)
    capsys.readouterr()

    assert main(["export", "proposals", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["bidder"], r["version"], r["status"], r["amount"]) for r in rows] == [
        ("bidder-bob", 1, "superseded", "9000.00"),
        ("bidder-bob", 2, "live", "8500.00"),
        ("bidder-carol", 1, "live", "9500.00"),
    ]
    assert all(r["sha256"] and r["receipt"] and r["submitted_at"].endswith("Z") for r in rows)

    assert main(["export", "proposals"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["amount"] for r in table] == ["9000.00", "8500.00", "9500.00"]
    assert table[0]["tax_basis"] == "taxes included"

    for what in ("awards", "payments"):
        assert main(["export", what, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out) == []


def test_export_to_a_file(harness, sim, db_url, monkeypatch, tmp_path):
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9000\nPlan")
    monkeypatch.setenv("DATABASE_URL", db_url)
    out = tmp_path / "proposals.csv"
    assert main(["export", "proposals", "--output", str(out)]) == 0
    assert "bidder-bob" in out.read_text() and "9000.00" in out.read_text()
