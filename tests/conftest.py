"""Shared fixtures: databases (SQLite and PostgreSQL), a simulated GitHub, and a bot harness.

Every storage test runs on both databases through the `db_url` fixture. In CI
(`CI=true`) a PostgreSQL that cannot be reached fails the run instead of
skipping. GitHub is simulated by `demo.github` behind respx, on
githubkit's own httpx, and the harness posts signed webhooks built from the
real payloads in `tests/fixtures/github-payloads`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

import httpx
import pytest
import respx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import Settings
from demo.github import SimulatedGitHub
from storage.db import make_engine
from storage.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures" / "github-payloads"
PG_ADMIN_URL = os.environ.get("DEVEX_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API = "https://api.github.test"
APP_ID = "4242"
SECRET = "It's a Secret to Everybody"
INSTALLATION = 77
REPO = "octo-org/procurement"


def payload(event: str, action: str = "") -> dict:
    """A real delivery as GitHub sends it (tests change only what they are about)."""
    name = f"{action}.payload.json" if action else "payload.json"
    return json.loads((FIXTURES / event / name).read_text())


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ databases


def end_session_of(engine, connection) -> None:
    """PostgreSQL: the server ends `connection`'s session, as a restart would (asked from
    another connection; the session's own state, its transaction included, untouched)."""
    pid = connection.connection.dbapi_connection.info.backend_pid
    with engine.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_database():
    """One PostgreSQL database for the session, migrated once, dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: in CI this is a failure, not a skip")
        pytest.skip("PostgreSQL not reachable (outside CI: skipped)")
    name = f"devex_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file copied for each test (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        # A connection a previous test left open (idle in transaction) would make
        # the TRUNCATE wait for ever: end them, and never wait long for a lock.
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        )
        conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
        tables = [r[0] for r in conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "sqlite":
        path = tmp_path / "devex.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# ------------------------------------------------------------------ GitHub


@pytest.fixture(scope="session")
def app_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture
def sim(clock) -> SimulatedGitHub:
    sim = SimulatedGitHub(api_url=API, clock=clock)
    sim.add_repo(REPO)
    sim.add_installation(INSTALLATION, "octo-org", [REPO])
    sim.set_permission(REPO, "pm-alice", "write")
    sim.set_permission(REPO, "admin-olga", "admin")
    return sim


class Clock:
    """A clock tests move by hand; starts at the real now."""

    def __init__(self, start: Optional[datetime] = None):
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Harness:
    """The whole bot in one process: intake, worker, sender, scheduler, against `sim`."""

    def __init__(self, engine, sim: SimulatedGitHub, app_key: str, clock: Clock, **settings):
        from bot.github.client import GitHubApp
        from bot.runtime import build

        self.sim = sim
        self.clock = clock
        values = dict(
            GITHUB_APP_ID=APP_ID,
            GITHUB_PRIVATE_KEY=app_key,
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_API_URL=API,
            DEVEX_WRITE_INTERVAL=0,
            DEVEX_RETRY_BASE=0,
            DEVEX_SCHEDULER_INTERVAL=0.05,
            DEVEX_CONFIG_TTL=0,
        )
        values.update(settings)
        self.settings = Settings(**values)
        self.github = GitHubApp(APP_ID, app_key, self.settings.github_api_url)
        self.runtime = build(self.settings, engine=engine, github_call=self.github.call, clock=clock)
        self.app = self.runtime.app()
        self.engine = engine
        self.deliveries = 0

    # -- GitHub -> app
    def post(self, event: str, body: bytes, headers: Optional[dict] = None) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:
                return await client.post("/webhooks", content=body, headers=headers or {})

        return asyncio.run(go())

    def deliver(self, event: str, data: dict, delivery_id: Optional[str] = None, secret: str = SECRET) -> httpx.Response:
        data.setdefault("installation", {"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc="})
        body = json.dumps(data).encode()
        self.deliveries += 1
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, secret),
            "Content-Type": "application/json",
        }
        return self.post(event, body, headers)

    def run(self, rounds: int = 20) -> None:
        """Worker, scheduler and sender until nothing is left; GitHub's webhooks for
        the app's own actions are delivered back, as GitHub does."""
        for _ in range(rounds):
            self.runtime.scheduler.run_once()
            worked = self.runtime.worker.drain()
            sent = self.runtime.sender.drain()
            echoed = self.sim.pop_events()
            for event, data in echoed:
                self.deliver(event, data)
            if not worked and not sent and not echoed:
                return

    # -- people acting on GitHub
    def act(self, event_and_payload: tuple[str, dict]) -> httpx.Response:
        event, data = event_and_payload
        return self.deliver(event, data)

    def comment(self, number: int, login: str, body: str, run: bool = True):
        response = self.act(self.sim.human_comment(REPO, number, login, body))
        if run:
            self.run()
        return response

    def thread(self, number: int) -> list[dict]:
        return self.sim.issue_comments(REPO, number)

    def bot_comments(self, number: int) -> list[str]:
        from demo.github import BOT_LOGIN

        return [c["body"] for c in self.thread(number) if c["user"] == BOT_LOGIN]

    def labels(self, number: int) -> list[str]:
        return [l["name"] if isinstance(l, dict) else l for l in self.sim.issue(REPO, number)["labels"]]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc))


@pytest.fixture
def harness(engine, sim, app_key, clock):
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        yield Harness(engine, sim, app_key, clock)


@pytest.fixture
def make_harness(engine, sim, app_key, clock):
    """Harnesses with other settings or clock: `make_harness(DEVEX_CONFIG_TTL=300, clock=utcnow)`."""
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        yield lambda clock=clock, **settings: Harness(engine, sim, app_key, clock, **settings)
