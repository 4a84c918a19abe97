"""`devex-bot receive` says the truth (issue 13.4), and a refused app key is a lasting
failure said plainly, never "could not reach GitHub" retried for ever."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bot.cli import main
from storage import inbox, outbox
from storage.outbox import Write
from storage.tables import metadata
from tests.conftest import API, INSTALLATION, REPO, payload
from tests.spine import OPEN_FORM, open_opportunity

ROOT = Path(__file__).resolve().parent.parent


def dump(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        tables = {t.name: t for t in metadata.sorted_tables}
        out = {}
        for name in sorted(tables) + ["alembic_version"]:
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted((tuple(map(repr, r)) for r in rows))
        return out


@pytest.fixture
def environment(monkeypatch, db_url):
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH", "GITHUB_WEBHOOK_SECRET", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _file(tmp_path, data, name="delivery.json") -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return str(path)


def test_a_dry_run_leaves_the_database_exactly_as_it_was(harness, sim, environment, tmp_path, capsys):
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    before = dump(harness.engine)
    _, comment = sim.human_comment(REPO, number, "bidder-carol", "/register")
    _, bid = sim.human_comment(REPO, number, "bidder-bob", "/bid 9000\nMy plan.")
    capsys.readouterr()
    assert main(["receive", "issue_comment", _file(tmp_path, comment), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert f"POST /repos/{REPO}/issues/{number}/comments" in printed and "@bidder-carol" in printed and "Registered" in printed
    assert main(["receive", "issue_comment", _file(tmp_path, bid), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "DELETE" in printed and "Proposal received" in printed
    assert dump(harness.engine) == before


BAD_FILES = {
    "missing": None,
    "a directory": "dir",
    "not UTF-8": b'{"action": "labeled", "x": "\xff"}',
    "not JSON": b"{'action': 'labeled'}",
    "NaN": b'{"action": "labeled", "x": NaN}',
    "not an object": b"[1, 2]",
}


@pytest.mark.parametrize("what", list(BAD_FILES))
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_file_it_cannot_read_ends_with_one_line_and_a_failure(environment, tmp_path, what):
    data = BAD_FILES[what]
    if data is None:
        path = str(tmp_path / "nowhere.json")
    elif data == "dir":
        path = str(tmp_path)
    else:
        path = _file(tmp_path, data)
    with pytest.raises(SystemExit) as stop:
        main(["receive", "issues", path])
    message = str(stop.value.code)
    assert message.startswith("devex-bot receive: ") and "\n" not in message
    assert {"missing": "cannot read", "a directory": "cannot read", "not UTF-8": "not UTF-8", "not JSON": "not JSON", "NaN": "NaN", "not an object": "not a JSON object"}[what] in message


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_exits_non_zero_without_a_traceback(environment, tmp_path, db_url):
    path = _file(tmp_path, b"not json")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "receive", "issues", path], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"devex-bot receive: {path}: body is not JSON"]


def _labeled(sim) -> dict:
    number = sim.open_issue(REPO, "Speed up the build", OPEN_FORM, "pm-alice")["number"]
    return sim.human_label(REPO, number, "pm-alice", "opportunity")[1]


def test_a_wrong_app_id_is_an_authentication_problem_naming_it_and_does_not_spin(harness, sim, environment, tmp_path, app_key):
    sim.app_id = "4242"  # GitHub knows the app by this id; the operator typed another
    for name, value in dict(GITHUB_APP_ID="999", GITHUB_PRIVATE_KEY=app_key, GITHUB_API_URL=API).items():
        environment.setenv(name, value)
    with pytest.raises(SystemExit) as stop:
        main(["receive", "issues", _file(tmp_path, _labeled(sim))])
    message = str(stop.value.code)
    assert "handling failed" in message and "GitHub refused the app's credentials (GITHUB_APP_ID 999)" in message
    assert "could not reach GitHub" not in message and "\n" not in message
    assert sim.count_requests("POST", r"/access_tokens$") == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_github_unreachable_ends_with_one_line_and_a_failure(environment, tmp_path, app_key):
    for name, value in dict(GITHUB_APP_ID="4242", GITHUB_PRIVATE_KEY=app_key, GITHUB_API_URL="http://127.0.0.1:9").items():
        environment.setenv(name, value)
    data = payload("issues", "labeled")
    data["label"]["name"] = "opportunity"
    data["issue"]["body"] = OPEN_FORM
    data["installation"] = {"id": INSTALLATION}
    with pytest.raises(SystemExit) as stop:
        main(["receive", "issues", _file(tmp_path, data)])
    message = str(stop.value.code)
    assert "handling failed" in message and "could not reach GitHub" in message and "kept" in message


def test_the_worker_and_the_sender_keep_what_a_refused_key_stops_and_wait_the_longest(harness, sim, caplog):
    number = open_opportunity(harness)
    sim.app_id = "999"
    sim.revoke_tokens()
    harness.github.forget_token(INSTALLATION)
    with Session(harness.engine) as session:
        outbox.enqueue(session, Write(INSTALLATION, method="POST", path=f"/repos/{REPO}/issues/{number}/comments", body={"body": "hello"}), now=harness.clock())
        session.commit()
    with caplog.at_level(logging.INFO):
        harness.act(sim.human_comment(REPO, number, "bidder-bob", "/register"))
        harness.runtime.worker.drain()
        harness.runtime.sender.drain()
        harness.runtime.worker.drain()
        harness.runtime.sender.drain()
    refused = [r for r in caplog.records if "GitHub refused the app's credentials (GITHUB_APP_ID 4242)" in r.getMessage()]
    assert refused and all(r.levelno == logging.ERROR and r.exc_info is None for r in refused)
    assert not any("could not reach GitHub" in r.getMessage() for r in caplog.records)
    assert sim.count_requests("POST", r"/access_tokens$") <= 3  # no spinning
    with Session(harness.engine) as session:
        [delivery] = [d for d in [inbox.find(session, d_id) for d_id in _ids(harness.engine)] if d.event == "issue_comment"]
        assert delivery.status == "pending" and delivery.attempts == 1 and "credentials" in delivery.last_error
        assert delivery.next_attempt_at - harness.clock() == timedelta(seconds=harness.settings.retry_cap)
        [write] = outbox.unsent(session)
        assert write.status == "pending" and "credentials" in write.last_error
        assert write.next_attempt_at - harness.clock() == timedelta(seconds=harness.settings.retry_cap)


def _ids(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT delivery_id FROM deliveries"))]
