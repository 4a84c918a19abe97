"""One deployment of devex-bot on this machine, as the benchmarks run it.

A simulated GitHub (`bench.simserver`) and `devex-bot serve` (and `devex-bot
worker` processes) on loopback, over a SQLite file or a PostgreSQL database
made for the run and dropped after it. Deliveries are signed as GitHub signs
them and posted by the load generator (`bench.loadgen`), another process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.procs import HOST, ROOT, VENV_BIN, Processes, free_port, wait_http

SECRET = "bench-webhook-secret"
APP_ID = "90210"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PYTHON = str(Path(sys.executable))
DEVEX_BOT = str(VENV_BIN / "devex-bot")


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(event: str, payload: dict, delivery_id: Optional[str] = None) -> dict:
    """A delivery as the load generator posts it."""
    body = json.dumps(payload)
    out = {"event": event, "signature": sign(body.encode()), "body": body}
    if delivery_id:
        out["delivery_id"] = delivery_id
    return out


@dataclass
class Keys:
    private_pem: str
    public_file: Path

    @classmethod
    def make(cls, folder: Path) -> "Keys":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        path = folder / "app-public.pem"
        path.write_bytes(public)
        return cls(private, path)


# ------------------------------------------------------------------ databases


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN, autocommit=True)


def pg_available() -> bool:
    try:
        with _pg_admin() as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def pg_create(tag: str) -> tuple[str, str]:
    """A new database of our own: (name, url)."""
    name = f"devex_bench_{tag}_{uuid.uuid4().hex[:6]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_drop(name: str) -> None:
    assert name.startswith("devex_bench_"), name  # never anything but ours
    with _pg_admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def migrate(url: str) -> None:
    subprocess.run([DEVEX_BOT, "migrate"], cwd=ROOT, env=_env({"DATABASE_URL": url}), check=True, capture_output=True)


class Database:
    """Reads the inbox and outbox while the app runs, without taking SQLite's write lock."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            path = url.split("///", 1)[1]
            self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None)
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return list(self.conn.execute(sql, params).fetchall())

    def one(self, sql: str, params: tuple = ()):
        return self.rows(sql, params)[0][0]

    def pending_deliveries(self) -> int:
        return self.one("SELECT count(*) FROM deliveries WHERE status = 'pending'")

    def pending_writes(self) -> int:
        return self.one("SELECT count(*) FROM github_writes WHERE status = 'pending'")

    def delivery_statuses(self) -> dict[str, int]:
        return dict(self.rows("SELECT status, count(*) FROM deliveries GROUP BY status"))

    def wait(self, condition, timeout: float, interval: float = 0.005) -> float:
        """Polls until `condition()` holds; returns the monotonic time it was seen to."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"not reached within {timeout:.0f} s")
            time.sleep(interval)

    def close(self) -> None:
        self.conn.close()


# ------------------------------------------------------------------ processes


def _env(extra: dict) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DEVEX_", "DATABASE_URL"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class SimClient:
    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)

    def setup(self, **spec) -> dict:
        return self.http.post("/_bench/setup", json=spec).raise_for_status().json()

    def human(self, actions: list[dict]) -> list[tuple[str, dict]]:
        return [tuple(x) for x in self.http.post("/_bench/human", json=actions).raise_for_status().json()]

    def stats(self, since: int = 0) -> dict:
        return self.http.get("/_bench/stats", params={"since": since}).raise_for_status().json()

    def issue(self, repo: str, number: int) -> dict:
        return self.http.get("/_bench/issue", params={"repo": repo, "number": number}).raise_for_status().json()


@dataclass
class Deployment:
    """The simulated GitHub and devex-bot, on one database."""

    procs: Processes
    keys: Keys
    db_url: str
    work: Path
    sim: Optional[SimClient] = None
    sim_proc: Optional[subprocess.Popen] = None
    app_port: int = 0
    app_proc: Optional[subprocess.Popen] = None
    workers: list = field(default_factory=list)

    def start_sim(self) -> SimClient:
        port = free_port()
        self.sim_proc = self.procs.start(
            "simulated-github",
            [PYTHON, "-m", "bench.simserver", "--port", str(port), "--app-id", APP_ID, "--public-key-file", str(self.keys.public_file)],
            _env({}),
        )
        url = f"http://{HOST}:{port}"
        wait_http(url + "/_bench/stats", self.sim_proc)
        self.sim = SimClient(url)
        return self.sim

    def app_env(self, **tunables) -> dict:
        env = {
            "GITHUB_APP_ID": APP_ID,
            "GITHUB_PRIVATE_KEY": self.keys.private_pem,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": self.sim.url if self.sim else "http://127.0.0.1:9",
            "DATABASE_URL": self.db_url,
            "HOST": HOST,
            # The benchmarks' simulated GitHub lists no hook deliveries: no recovery passes.
            "DEVEX_RECOVERY_INTERVAL": "0",
        }
        env.update({k: str(v) for k, v in tunables.items()})
        return env

    def start_app(self, *, no_worker: bool = False, workers: int = 0, name: str = "devex-bot", **tunables) -> int:
        """`devex-bot serve` (intake, and with it the worker, unless no_worker) and `workers` worker processes."""
        self.app_port = free_port()
        argv = [DEVEX_BOT, "serve", "--host", HOST, "--port", str(self.app_port)] + (["--no-worker"] if no_worker else [])
        self.app_proc = self.procs.start(f"{name}-serve", argv, _env(self.app_env(PORT=self.app_port, **tunables)), app=True)
        for i in range(workers):
            self.workers.append(self.procs.start(f"{name}-worker-{i + 1}", [DEVEX_BOT, "worker"], _env(self.app_env(**tunables)), app=True))
        wait_http(f"http://{HOST}:{self.app_port}/healthz", self.app_proc)
        self._profile(name, [self.app_proc] + self.workers)
        return self.app_port

    def _profile(self, name: str, procs: list) -> None:
        """With DEVEX_BENCH_PYSPY=FOLDER, py-spy samples each process until it exits
        (collapsed stacks in FOLDER/NAME-PID.txt): for finding where the time goes,
        not for figures (the sampling costs CPU)."""
        import os

        folder = os.environ.get("DEVEX_BENCH_PYSPY")
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        for proc in procs:
            out = Path(folder) / f"{name}-{proc.pid}.txt"
            argv = [str(VENV_BIN / "py-spy"), "record", "--pid", str(proc.pid), "--format", "raw", "--rate", os.environ.get("DEVEX_BENCH_PYSPY_RATE", "200"), "--nonblocking", "-o", str(out)]
            # DEVEX_BENCH_PYSPY_GIL=1: only the thread holding the GIL (where the Python CPU goes).
            if os.environ.get("DEVEX_BENCH_PYSPY_GIL"):
                argv.append("--gil")
            self.procs.start(f"py-spy-{name}-{proc.pid}", argv, _env({}))

    def stop_app(self) -> None:
        for proc in self.workers:
            self.procs.stop(proc)
        self.workers.clear()
        if self.app_proc is not None:
            self.procs.stop(self.app_proc)
            self.app_proc = None

    def post(self, deliveries: list[dict], connections: int = 16, timeout: float = 300.0) -> dict:
        """Posts each delivery once, `connections` at a time; the load generator's report."""
        return run_loadgen(
            {"port": self.app_port, "connections": connections, "mode": "once", "deliveries": deliveries, "timeout": timeout}, self.work
        )


def run_loadgen(spec: dict, work: Path) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=work, delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        timeout = float(spec.get("timeout", 120)) + float(spec.get("duration", 0)) + float(spec.get("warmup", 0)) + 30
        out = subprocess.run([PYTHON, "-m", "bench.loadgen", path], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"load generator failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        Path(path).unlink(missing_ok=True)
