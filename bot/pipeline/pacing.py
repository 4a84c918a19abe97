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
  `REST_FACTOR` times the step at `FULL_LOAD` requests a second or more, less
  below it, none when no request came in meanwhile. The worker's steps while
  intake is busy are of `BUSY_STEP` deliveries, the sender's of `BUSY_STEP`
  unpaced writes (at one a step, its claim and its record, a dozen round trips
  to PostgreSQL, went to each write; on SQLite its claim's hold of the write
  lock renders up to four, which showed intake no harm). In a burst, intake then gets
  nearly all of the process and the work goes on slowly until it ends; under a
  light but steady load the work keeps up.

  What a step costs intake is its hold of SQLite's write lock (nothing is stored
  meanwhile) more than its CPU: a step of one delivery held it 6 to 8 ms. Four
  deliveries a step, resting 24 times as long in a burst: intake beside the
  worker about 8 % faster, the worker about a quarter slower during the burst
  (docs/benchmarks.md, issue 18, twelfth pass, has the figures). A rest ends as
  soon as intake is quiet, and is never longer than `REST_MAX`;
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
FULL_LOAD = 500.0  # requests to intake a second
BUSY_STEP = 4  # the worker's deliveries (the sender's unpaced writes) a step while intake is busy
REST_MAX = 1.0  # seconds: the longest rest after one step
REST_SLICE = 0.01  # seconds: a rest ends within this once intake is quiet
INTAKE_SWITCH_INTERVAL = 0.0005  # seconds (Python's default: 0.005)
_clock = time.monotonic  # (a test's own clock in its place)


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
        self.last = _clock()

    def end(self) -> None:
        self.in_flight -= 1
        self.last = _clock()

    def busy(self) -> bool:
        return self.in_flight > 0 or _clock() - self.last < self.RECENT

    def mark(self) -> tuple[float, int]:
        """Taken before a background step, for `rest` after it: when it began, and intake's
        count of requests then."""
        return _clock(), self.begun

    def rest(self, stop: threading.Event, mark: tuple[float, int]) -> None:
        """A background thread's rest after a step (`mark` taken before it): `REST_FACTOR`
        times the step's length with intake at `FULL_LOAD` or more meanwhile; below, in
        proportion to intake's rate (48 ms for each request begun during the step); none
        when none began. At most `REST_MAX`, and over as soon as intake is quiet."""
        step_began, begun_before = mark
        now = _clock()
        took = now - step_began
        if took <= 0:
            return
        load = min(1.0, (self.begun - begun_before) / took / FULL_LOAD)
        until = now + min(took * REST_FACTOR * load, REST_MAX)
        while self.busy():
            left = until - _clock()
            if left <= 0 or stop.wait(min(left, REST_SLICE)):
                return
