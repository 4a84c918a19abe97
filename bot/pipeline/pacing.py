"""Background work steps back while intake answers GitHub.

`devex-bot serve` runs intake, the worker and the sender in one interpreter
(one GIL) and, on SQLite, behind one write lock. GitHub waits for intake's
answer (10 s at most) and nobody waits for the worker's, so while intake is
busy each background thread rests after every step, `REST_FACTOR` times as
long as the step took: intake gets most of the process, a burst is stored and
answered first, and the work goes on at a quarter of its pace until it ends.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

REST_FACTOR = 3.0


def rest_while_intake_busy(stop: threading.Event, intake_busy: Optional[Callable[[], bool]], step_began: float) -> None:
    if intake_busy is not None and intake_busy():
        stop.wait((time.monotonic() - step_began) * REST_FACTOR)
