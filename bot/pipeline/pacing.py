"""Intake first: the one policy that lets a burst be stored before it is worked on.

Why it exists. `devex-bot serve` runs intake, the worker, the sender and the
scheduler in one interpreter (one GIL) and, on SQLite, behind one write lock.
GitHub waits for intake's answer (10 s at most, then counts a failed delivery)
and nobody waits for the worker's, so while intake is answering GitHub the
background threads give way:

- `IntakeActivity` says whether intake is busy now (a request in flight, or
  one in the last `RECENT` seconds);
- `IntakeActivity.rest`: each background thread rests after every step in
  proportion to how long the step took and to how loaded intake was during it:
  `REST_FACTOR` times the step at `FULL_LOAD` deliveries a second or more, less
  below it, none when no request came in meanwhile. The worker's steps while
  intake is busy are of `BUSY_STEP` deliveries. In a burst, intake then gets
  nearly all of the process and the work goes on slowly until it ends; under a
  light but steady load the work keeps up.

  What a step costs intake is its hold of SQLite's write lock (nothing is stored
  meanwhile) more than its CPU: a step of one delivery held it 6 to 8 ms, each
  step cost intake about 60 deliveries' worth, and at one delivery a step
  resting six times as long (issue 18 until its twelfth pass) the worker did 17
  deliveries a second in a burst and intake lost a fifth of its rate. Steps of
  four, resting 24 times as long: the worker about as fast in a burst (10 to
  15 a second), intake 20 to 25 % faster (docs/benchmarks.md, issue 18,
  twelfth pass). The rest follows intake's rate: a request in the last 50 ms
  was enough to rest six steps, whatever the load; at a steady 125 deliveries a
  second it still is about six, below that less, and none for a step during
  which no request came in;
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

REST_FACTOR = 24.0  # a step's rest, in steps, with intake at FULL_LOAD or more
FULL_LOAD = 500.0  # deliveries a second
BUSY_STEP = 4  # the worker's deliveries a step while intake is busy
INTAKE_SWITCH_INTERVAL = 0.0005  # seconds (Python's default: 0.005)


class IntakeActivity:
    """Whether intake is answering GitHub now: the worker and sender threads of the
    same process (one interpreter, one GIL, and on SQLite one write lock) step back
    while it is, so a burst is stored and answered first and worked on after."""

    RECENT = 0.05  # seconds after the last request during which intake counts as busy

    def __init__(self) -> None:
        self.in_flight = 0  # changed on the event loop's thread only
        self.last = 0.0
        self.begun = 0  # requests begun, ever (read by the background threads for the rate)

    def begin(self) -> None:
        self.in_flight += 1
        self.begun += 1
        self.last = time.monotonic()

    def end(self) -> None:
        self.in_flight -= 1
        self.last = time.monotonic()

    def busy(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self.last < self.RECENT

    def rest(self, stop: threading.Event, step_began: float, begun_before: int) -> None:
        """A background thread's rest after a step that began at `step_began` (monotonic),
        when intake had begun `begun_before` requests: in proportion to the step and to
        intake's rate meanwhile (`REST_FACTOR` steps at `FULL_LOAD` and above)."""
        if not self.busy():
            return
        took = time.monotonic() - step_began
        if took <= 0:
            return
        load = min(1.0, (self.begun - begun_before) / took / FULL_LOAD)
        if load > 0:
            stop.wait(took * REST_FACTOR * load)
