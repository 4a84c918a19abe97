"""No secret reaches the logs (issue 6.6), and one delivery's log lines carry its id (issue 2.9).

A whole scenario (an opportunity labelled, /register, /bid, /help, with GitHub
failing on the way) runs with DEBUG logging on every logger, formatted as
production formats it; the log is then searched for the private key (whole and
line by line), the webhook secret and every credential GitHub issued or saw.
"""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import JsonFormatter, configure
from tests.conftest import REPO, SECRET
from tests.spine import OPEN_FORM, deliveries, sqlite_only

OURS = ("bot", "handlers", "storage", "devex_bot")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def debug_log():
    """Every logger at DEBUG into a JSON-formatted stream and a record list; restored after."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in ("httpx", "httpcore")})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    capture = Capture()
    root.handlers[:] = [handler, capture]
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream, capture
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def credentials(sim) -> set[str]:
    """Every installation token the simulator issued and every credential a request carried (JWTs too)."""
    found = set(sim.tokens)
    for request in sim.requests:
        _, _, credential = request.headers.get("authorization", "").partition(" ")
        if credential:
            found.add(credential)
    return found


def scenario(harness, sim) -> int:
    number = sim.open_issue(REPO, "Speed up the build", OPEN_FORM, "pm-alice")["number"]
    harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    harness.run()
    harness.comment(number, "bidder-bob", "/register")
    issued_before_revoke = set(sim.tokens)
    # GitHub's trouble on the way: errors and tracebacks get logged too.
    sim.fail_next("POST", r"/issues/\d+/comments$", 502)
    sim.revoke_tokens()
    sim.fail_next("POST", r"/access_tokens$", 500)
    harness.comment(number, "bidder-bob", "/bid 9,000.00\nMy approach, with a secret-looking ghp_notarealtoken12345")
    harness.comment(number, "bidder-bob", "/help")
    harness.comment(number, "pm-alice", "/status")
    sim.tokens.update({t: {} for t in issued_before_revoke})  # keep them in the search
    return number


@sqlite_only
def test_no_key_secret_or_token_reaches_the_log(harness, sim, app_key, debug_log):
    stream, capture = debug_log
    number = scenario(harness, sim)
    assert any("Proposal received" in b for b in harness.bot_comments(number))
    text = stream.getvalue()
    assert len(text.splitlines()) > 20  # DEBUG really was on

    secrets = {"webhook secret": SECRET, "private key": app_key}
    for i, line in enumerate(app_key.strip().splitlines()):
        if "PRIVATE KEY" not in line:
            secrets[f"private key line {i}"] = line
    for credential in credentials(sim):
        secrets[f"credential {credential[:8]}…"] = credential
    assert len([k for k in secrets if k.startswith("credential")]) >= 3  # tokens, old and new, and JWTs
    leaked = [name for name, value in secrets.items() if value in text or value.replace("'", "\\'") in text]
    assert leaked == []


@sqlite_only
def test_secrets_do_not_even_reach_a_log_record(harness, sim, app_key, debug_log):
    """Masking is the last line; the first is never to log them at all."""
    _, capture = debug_log
    scenario(harness, sim)
    plain = logging.Formatter("%(name)s %(message)s")
    text = "\n".join(plain.format(r) for r in capture.records)
    for value in [SECRET, *[l for l in app_key.splitlines() if "PRIVATE KEY" not in l], *credentials(sim)]:
        assert value not in text


def test_every_line_of_a_deliverys_work_carries_its_id(harness, sim, debug_log):
    """Lines logged while the worker handles a delivery, and the sender sends what it owes,
    carry that delivery's id, installation and repository (at production's levels)."""
    _, capture = debug_log
    configure("INFO", io.StringIO())  # production's levels (httpx quiet); our capture stays on
    logging.getLogger().handlers.append(capture)
    number = sim.open_issue(REPO, "Speed up the build", OPEN_FORM, "pm-alice")["number"]
    sim.fail_next("POST", r"/issues/\d+/comments$", 500)
    harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    harness.act(sim.human_comment(REPO, number, "bidder-bob", "/register"))
    harness.act(sim.human_comment(REPO, number, "bidder-bob", "/bid 9000\nPlan"))

    def steps(run_once):
        windows = []
        while True:
            start = len(capture.records)
            if not run_once():
                return windows
            windows.append([r for r in capture.records[start:] if r.levelno >= logging.INFO and r.name.startswith(OURS)])

    for _ in range(5):
        handled = steps(harness.runtime.worker.run_once)
        sent = steps(harness.runtime.sender.run_once)
        for event in sim.pop_events():
            harness.act(event)
        for window in handled + sent:
            assert window, "each step logs at least one line"
            # A step may be a batch (several deliveries, or several writes owed by
            # different deliveries): every line names the one it belongs to.
            ids = {getattr(r, "delivery", None) for r in window}
            assert None not in ids, [(r.name, r.getMessage()) for r in window]
            assert ids <= {d["delivery_id"] for d in deliveries(harness.engine)}
            assert {getattr(r, "installation", None) for r in window} == {77}
            assert {getattr(r, "repository", None) for r in window} == {REPO}
        if not handled and not sent:
            break
    assert any("Proposal received" in b for b in harness.bot_comments(number))
