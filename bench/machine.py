"""The machine and software the figures come from."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from bench.procs import ROOT


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _commit() -> str:
    """The checked-out commit, read from .git (no git command)."""
    try:
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = ROOT / ".git" / head[5:]
            if ref.exists():
                return ref.read_text().strip()[:12]
            packed = (ROOT / ".git" / "packed-refs").read_text().splitlines()
            return next((l.split()[0][:12] for l in packed if l.endswith(head[5:])), "unknown")
        return head[:12]
    except OSError:
        return "unknown"


def _postgres_version() -> str:
    try:
        import psycopg

        from bench.deploy import PG_ADMIN

        with psycopg.connect(PG_ADMIN) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        return "unreachable"


def describe() -> dict:
    versions = {}
    for name in ("uvicorn", "starlette", "uvloop", "httptools", "sqlalchemy", "psycopg", "githubkit", "httpx"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(),
        "packages": versions,
        "commit": _commit(),
        # Other work on the machine during the run skews every figure: this says how busy it was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
