"""Intake first: the one policy that lets a burst be stored before it is worked on.

Why it exists. `devex-bot serve` runs intake, the worker, the sender and the
scheduler in one interpreter (one GIL) and, on SQLite, behind one write lock.
GitHub waits for intake's answer (10 s at most, then counts a failed delivery)
and nobody waits for the worker's, so while intake is answering GitHub the
background threads give way:

- `IntakeActivity` says whether intake is busy now (a request in flight, or
  one in the last `RECENT` seconds);
- `rest_while_intake_busy`: each background thread rests after every step
  `REST_FACTOR` times as long as the step took, so intake gets most of the
  process and the work goes on at a seventh of its pace until the burst ends
  (at a quarter, with intake storing on the loop's thread since issue 18, a
  busy worker took intake's p99 to 35 ms and its max to 690 ms; at a seventh,
  p99 16 to 18 ms);
- `INTAKE_SWITCH_INTERVAL`: the GIL changes hands every half millisecond
  rather than Python's 5, so a request waits less behind a worker's step
  (measured when SQLite intake stored on the event loop's thread, taking the
  GIL back after each SQLite call: at 1 ms, 1,900 deliveries/s and p99 37 to 57 ms
  beside a busy worker; at 0.5 ms, 2,600/s and p99 24 ms; at 0.2 ms no
  better than 0.5 in four runs);
- on SQLite, intake's transactions take the write lock ahead of background
  ones (`storage.db.urgent`; the turn lock itself lives with the engine in
  `storage/db.py`, as a property of the database connection, and lets
  background work one turn in `URGENT_TURNS + 1`).

What it measured (docs/benchmarks.md, 2 cores): intake p99 under a burst of
signed bids 36.6 ms -> 17.5 ms with the worker working beside it; the switch
interval alone took p99 from 35 to 26 ms.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

REST_FACTOR = 6.0
INTAKE_SWITCH_INTERVAL = 0.0005  # seconds (Python's default: 0.005)


class IntakeActivity:
    """Whether intake is answering GitHub now: the worker and sender threads of the
    same process (one interpreter, one GIL, and on SQLite one write lock) step back
    while it is, so a burst is stored and answered first and worked on after."""

    RECENT = 0.05  # seconds after the last request during which intake counts as busy

    def __init__(self) -> None:
        self.in_flight = 0  # changed on the event loop's thread only
        self.last = 0.0

    def begin(self) -> None:
        self.in_flight += 1
        self.last = time.monotonic()

    def end(self) -> None:
        self.in_flight -= 1
        self.last = time.monotonic()

    def busy(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self.last < self.RECENT


def rest_while_intake_busy(stop: threading.Event, intake_busy: Optional[Callable[[], bool]], step_began: float) -> None:
    if intake_busy is not None and intake_busy():
        stop.wait((time.monotonic() - step_began) * REST_FACTOR)
