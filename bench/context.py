"""What every section of a benchmark run shares: the work folder, keys, processes, results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.deploy import Keys
from bench.procs import Processes


@dataclass
class Run:
    work: Path
    keys: Keys
    procs: Processes
    quick: bool = False
    results: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)
