"""The bot as real processes: `devex-bot serve` and `devex-bot worker` started as
subprocesses, talking to a simulated GitHub served over HTTP, on a database of
their own. For the slow suites (crash recovery, concurrency); not a test module.

Everything binds 127.0.0.1 on free ports. Every process runs in its own process
group, so `kill9` is a real `kill -9` of the whole process and `Fleet.close`
(always called from a `finally`) leaves nothing running. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator, Optional

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demo.github import BOT_LOGIN, SimulatedGitHub
from tests.conftest import APP_ID, INSTALLATION, PG_ADMIN_URL, REPO, SECRET, _pg_available, sign

ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = Path(sys.executable).parent / "devex-bot"
# The installed console script, as an operator runs it; `python -m bot.cli` otherwise.
DEVEX_BOT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]

# A hidden marker the sender puts on every comment it creates (bot.pipeline.sender).
WRITE_MARKER = re.compile(r"<!-- devex-bot:write:(\d+) -->")
CENT = Decimal("0.01")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# ------------------------------------------------------------------ the app's key


@pytest.fixture(scope="module")
def app_keys(tmp_path_factory) -> tuple[Path, str]:
    """(the file holding the app's private key, its public key for the simulated GitHub)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("key") / "app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return path, public


# ------------------------------------------------------------------ databases


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test (migrated by `devex-bot migrate`), dropped after.

    PostgreSQL follows `pg_database` in conftest: skipped when absent, except in
    CI (`CI=true`), where a missing PostgreSQL fails the run."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'devex.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: in CI this is a failure, not a skip")
        pytest.skip("PostgreSQL not reachable (outside CI: skipped)")
    name = f"devex_slow_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# ------------------------------------------------------------------ GitHub over HTTP


class Hold:
    """Holds the first request that matches, before or after GitHub handled it,
    until released: the test then knows exactly where the bot is when it kills it."""

    def __init__(self, method: str, path: str, body_contains: Optional[str], after: bool):
        self.method = method.upper()
        self.path = re.compile(path)
        self.body_contains = body_contains
        self.after = after
        self.reached = threading.Event()
        self.released = threading.Event()
        self.used = False

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            not self.used
            and method == self.method
            and self.path.search(path) is not None
            and (self.body_contains is None or self.body_contains.encode() in body)
        )

    async def wait(self) -> None:
        self.reached.set()
        while not self.released.is_set():
            await asyncio.sleep(0.02)

    def release(self) -> None:
        self.released.set()


class GitHubServer:
    """A `SimulatedGitHub` served by uvicorn in a thread of the test process, so the
    test seeds it and reads its state directly while the bot calls it over HTTP."""

    def __init__(self, app_public_key: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sim = SimulatedGitHub(api_url=self.url, app_public_key=app_public_key, app_id=APP_ID)
        self.holds: list[Hold] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="simulated-github", daemon=True)

    def hold(self, method: str, path: str, body_contains: Optional[str] = None, after: bool = False) -> Hold:
        hold = Hold(method, path, body_contains, after)
        with self._lock:
            self.holds.append(hold)
        return hold

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()  # cached: the simulator reads it again
        hold = None
        with self._lock:
            for candidate in self.holds:
                if candidate.matches(request.method, request.url.path, body):
                    candidate.used = True
                    hold = candidate
                    break
        if hold is not None and not hold.after:
            await hold.wait()
        response = await self.sim._asgi_endpoint(request)
        if hold is not None and hold.after:
            await hold.wait()  # GitHub did it; the bot has not heard yet
        return response

    def __enter__(self) -> "GitHubServer":
        self._thread.start()
        wait_until(lambda: self._server.started, 15, "the simulated GitHub to listen")
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            for hold in self.holds:
                hold.release()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # -- what GitHub shows

    def bot_comments(self, number: int, repo: str = REPO) -> list[dict]:
        return [c for c in self.sim.issue_comments(repo, number) if c["user"] == BOT_LOGIN]

    def write_markers(self) -> list[int]:
        """The sender's marker of every live bot comment, one entry per comment."""
        with self.sim.lock:
            bodies = [c["body"] for c in self.sim.comments.values() if c["user"] == BOT_LOGIN]
        return [int(m) for body in bodies for m in WRITE_MARKER.findall(body)]


# ------------------------------------------------------------------ the bot's processes


@dataclass
class BotProcess:
    """One `devex-bot` process, its log in a file of the test's directory."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: Optional[int] = None
    proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "BotProcess":
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [*DEVEX_BOT, *self.args],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 reaches all of it
            )
        finally:
            log.close()
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_healthy(self, timeout: float = 30.0) -> None:
        def healthy() -> bool:
            if not self.running():
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout, f"{self.name} to answer /healthz", interval=0.1)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill9(self) -> None:
        """kill -9: no cleanup, no flush, no goodbye."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL, f"{self.name} had already exited with {self.proc.returncode}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)


class Fleet:
    """Starts the bot's processes for one test and always stops every one of them."""

    def __init__(self, database_url: str, github: GitHubServer, key_path: Path, logs: Path, **tunables: str):
        self.logs = logs
        self.processes: list[BotProcess] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DEVEX_")) and k not in ("DATABASE_URL", "LOG_LEVEL")}
        self.env.update(
            GITHUB_APP_ID=APP_ID,
            GITHUB_PRIVATE_KEY_PATH=str(key_path),
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_API_URL=github.url,
            DATABASE_URL=database_url,
            DEVEX_WRITE_INTERVAL="0",
            DEVEX_POLL_INTERVAL="0.05",
            DEVEX_SCHEDULER_INTERVAL="3600",
            DEVEX_RETRY_BASE="0.05",
            DEVEX_RETRY_CAP="1",
            # A create killed in flight blocks its installation's queue this long
            # (the simulated GitHub answers in milliseconds).
            DEVEX_CREATE_LEASE="2",
            # The simulated GitHub served here lists no hook deliveries (tests/test_recovery.py).
            DEVEX_RECOVERY_INTERVAL="0",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(tunables)

    def migrate(self) -> None:
        result = subprocess.run([*DEVEX_BOT, "migrate"], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    def _new(self, name: str, args: list[str], port: Optional[int] = None) -> BotProcess:
        process = BotProcess(name, args, self.env, self.logs / f"{name}.log", port=port)
        self.processes.append(process)
        return process

    def web(self, name: str, worker: bool = False) -> BotProcess:
        """`devex-bot serve` (intake only unless `worker`), answering /healthz."""
        port = free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)] + ([] if worker else ["--no-worker"])
        process = self._new(name, args, port).start()
        process.wait_healthy()
        return process

    def worker(self, name: str) -> BotProcess:
        """`devex-bot worker`: worker, sender and scheduler."""
        return self._new(name, ["worker"]).start()

    def close(self) -> None:
        for process in self.processes:
            try:
                process.stop()
            except Exception:  # keep stopping the others
                if process.proc is not None:
                    process._signal_group(signal.SIGKILL)

    def logs_tail(self, chars: int = 4000) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-chars:]}" for p in self.processes)


# ------------------------------------------------------------------ deliveries


@dataclass
class Delivery:
    """A signed delivery, ready to post (and to post again: a redelivery)."""

    event: str
    payload: dict
    delivery_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    answers: list[int] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload).encode()

    def headers(self) -> dict[str, str]:
        body = self.body
        return {
            "X-GitHub-Event": self.event,
            "X-GitHub-Delivery": self.delivery_id,
            "X-Hub-Signature-256": sign(body),
            "Content-Type": "application/json",
        }

    @property
    def accepted(self) -> bool:
        return 202 in self.answers


def delivery(event_and_payload: tuple[str, dict]) -> Delivery:
    event, payload = event_and_payload
    payload.setdefault("installation", {"id": INSTALLATION})
    return Delivery(event, payload)


def post(client: httpx.Client, web: BotProcess, d: Delivery) -> int:
    response = client.post(web.url + "/webhooks", content=d.body, headers=d.headers())
    d.answers.append(response.status_code)
    return response.status_code


async def apost(client: httpx.AsyncClient, web: BotProcess, d: Delivery) -> Optional[int]:
    """Posts; None when the process died before answering (what GitHub sees as a failed delivery)."""
    try:
        response = await client.post(web.url + "/webhooks", content=d.body, headers=d.headers())
    except httpx.HTTPError:
        return None
    d.answers.append(response.status_code)
    return response.status_code


# ------------------------------------------------------------------ what the database holds


def reader_engine(url: str) -> sa.Engine:
    """An engine for the test's own reads. Not `storage.db.make_engine` on SQLite: its
    BEGIN IMMEDIATE would wait behind a worker that holds the write lock."""
    if url.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": 30})
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def money(value) -> Decimal:
    """A stored amount as exact cents (raw SQL on SQLite reads NUMERIC back as a float)."""
    return Decimal(str(value)).quantize(CENT)


def rows(engine, query: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(query), params)]


def delivery_statuses(engine) -> dict[str, str]:
    return {r["delivery_id"]: r["status"] for r in rows(engine, "SELECT delivery_id, status FROM deliveries")}


def done_count(engine) -> int:
    return rows(engine, "SELECT count(*) AS n FROM deliveries WHERE status = 'done'")[0]["n"]


def pending_work(engine) -> tuple[int, int]:
    """(deliveries pending, GitHub writes pending)."""
    deliveries = rows(engine, "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'")[0]["n"]
    writes = rows(engine, "SELECT count(*) AS n FROM github_writes WHERE status = 'pending'")[0]["n"]
    return deliveries, writes


def proposals_by_issue(engine) -> dict[tuple[int, str], dict]:
    """(issue number, bidder) -> the proposal with its versions, oldest first."""
    found = {}
    for p in rows(
        engine,
        "SELECT p.id, o.issue_number, p.bidder, p.amount, p.status, p.current_version, p.receipt_number"
        " FROM proposals p JOIN opportunities o ON o.id = p.opportunity_id",
    ):
        versions = rows(
            engine,
            "SELECT version, amount, text, delivery_id, receipt_number FROM proposal_versions WHERE proposal_id = :id ORDER BY version",
            id=p["id"],
        )
        found[(p["issue_number"], p["bidder"])] = {**p, "versions": versions}
    return found
