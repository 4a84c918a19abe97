"""Processes the benchmarks start: each in its own process group, always stopped.

Every server binds 127.0.0.1 only. `Processes` is a context manager: whatever
happens inside, every process group it started gets SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (devex-bot serve's writer process, say), now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _family(pid: int) -> list[int]:
    """`pid` and its descendants now: what a figure of the process must count."""
    family, todo = [], [pid]
    while todo:
        current = todo.pop()
        family.append(current)
        todo.extend(_children(current))
    return family


def _own_peak_rss_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _with_descendants(pid: int, own) -> Optional[float]:
    """`own(pid)` plus the same of each of its live descendants; None when `pid` is gone."""
    total = own(pid)
    if total is None:
        return None
    return total + sum(own(child) or 0.0 for child in _family(pid)[1:])


def peak_rss_mb(pid: int) -> Optional[float]:
    """VmHWM: the process's peak resident set size so far, with its live descendants'
    (a sum of peaks: at most what they held together)."""
    return _with_descendants(pid, _own_peak_rss_mb)


def _own_cpu_seconds(pid: int) -> Optional[float]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # utime, stime, and the children it has waited for (cutime, cstime).
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks


def cpu_seconds(pid: int) -> Optional[float]:
    """User plus system CPU time the process and its descendants have used so far
    (devex-bot serve's writer process on SQLite included)."""
    return _with_descendants(pid, _own_cpu_seconds)


class Processes:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started: list[subprocess.Popen] = []
        # Each devex-bot process's peak RSS (with its descendants', as `peak_rss_mb`), by its
        # name, read as it is stopped: the figure of issue 18's "under 200 MB in every run".
        self.app_peak_rss_mb: dict[str, float] = {}

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], env: Optional[dict] = None, app: bool = False) -> subprocess.Popen:
        """`app`: a devex-bot process, whose peak RSS is recorded when it is stopped."""
        log = open(self.log_dir / f"{name}.log", "ab")
        full_env = dict(env) if env is not None else dict(os.environ)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()
        proc.bench_name = name  # type: ignore[attr-defined]
        proc.bench_app = app  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10.0) -> None:
        if getattr(proc, "bench_app", False):
            peak = peak_rss_mb(proc.pid)  # None once it has exited (a crash: its log says why)
            if peak is not None:
                name = proc.bench_name  # type: ignore[attr-defined]
                self.app_peak_rss_mb[name] = max(round(peak, 1), self.app_peak_rss_mb.get(name, 0.0))
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        if proc in self.started:
            self.started.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.started)):
            self.stop(proc)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until `url` answers (any status), or the process died, or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{getattr(proc, 'bench_name', proc.args)} exited with {proc.returncode} before answering")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
