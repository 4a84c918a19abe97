"""Intake first (bot/pipeline/pacing.py, issue 18): a background thread of `devex-bot
serve` rests after each step in proportion to the step and to intake's load meanwhile,
never longer than `REST_MAX`, and no longer once intake is quiet; the worker's steps
while intake is busy are of `BUSY_STEP` deliveries."""

from __future__ import annotations

import threading

import pytest

from bot.pipeline import pacing
from bot.pipeline.pacing import BUSY_STEP, FULL_LOAD, REST_FACTOR, REST_MAX, IntakeActivity


class _Time:
    """The test's clock, moved on by the rests asked of `stop`."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.during_wait = None  # called at each wait: what happens meanwhile

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float) -> bool:  # as threading.Event.wait
        self.waits.append(timeout)
        self.now += timeout
        if self.during_wait:
            self.during_wait()
        return False


@pytest.fixture
def steps_clock(monkeypatch) -> _Time:
    t = _Time()
    monkeypatch.setattr(pacing, "_clock", t)
    return t


def _step(clock: _Time, activity: IntakeActivity, requests: int, seconds: float) -> float:
    """A step of `seconds` during which intake began `requests` (one, begun before it, still
    in flight: intake is busy): how long the thread rested after it."""
    activity.begin()
    mark = activity.mark()
    for _ in range(requests):
        activity.begin()
        activity.end()
    clock.now += seconds
    activity.rest(clock, mark)
    return sum(clock.waits)


def test_the_real_values():
    assert (REST_FACTOR, FULL_LOAD, REST_MAX, BUSY_STEP) == (24.0, 500.0, 1.0, 4)


def test_under_a_burst_a_step_rests_the_full_factor_of_its_length(steps_clock):
    rested = _step(steps_clock, IntakeActivity(), requests=100, seconds=0.02)  # 5,000 a second
    assert rested == pytest.approx(REST_FACTOR * 0.02)
    assert max(steps_clock.waits) <= pacing.REST_SLICE  # in slices: it can end early


def test_under_a_lighter_load_a_step_rests_in_proportion(steps_clock):
    rested = _step(steps_clock, IntakeActivity(), requests=12, seconds=0.1)  # 120 a second
    assert rested == pytest.approx(REST_FACTOR * (120 / FULL_LOAD) * 0.1)


def test_a_long_step_rests_at_most_rest_max(steps_clock):
    assert _step(steps_clock, IntakeActivity(), requests=5000, seconds=2.0) == pytest.approx(REST_MAX)


def test_a_step_during_which_no_request_came_in_does_not_rest(steps_clock):
    assert _step(steps_clock, IntakeActivity(), requests=0, seconds=0.05) == 0


def test_a_rest_ends_once_intake_is_quiet(steps_clock):
    activity = IntakeActivity()

    def quiet():
        activity.in_flight = 0
        activity.last = steps_clock.now - IntakeActivity.RECENT * 2

    steps_clock.during_wait = quiet
    rested = _step(steps_clock, activity, requests=100, seconds=0.02)
    assert rested == pytest.approx(pacing.REST_SLICE)  # one slice, not 0.48 s


def test_nothing_rests_when_intake_is_quiet_already(steps_clock):
    activity = IntakeActivity()
    mark = activity.mark()
    for _ in range(100):
        activity.begin()
        activity.end()
    steps_clock.now += 1.0  # the last request long answered
    activity.rest(steps_clock, mark)
    assert steps_clock.waits == []


class _Busy(IntakeActivity):
    """Intake busy throughout; the thread's one step, then stopped at its rest."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop
        self.rests: list = []

    def busy(self) -> bool:
        return True

    def rest(self, stop, mark) -> None:
        self.rests.append(mark)
        self.stop.set()


def test_the_worker_and_the_sender_of_serve_give_way_to_its_intake(harness, monkeypatch):
    runtime = harness.runtime
    assert runtime.worker.intake is runtime.activity and runtime.sender.intake is runtime.activity
    stop = threading.Event()
    busy = _Busy(stop)
    limits = []
    monkeypatch.setattr(runtime.worker, "intake", busy)
    monkeypatch.setattr(runtime.worker, "run_once", lambda limit=None: limits.append(limit) or 1)
    runtime.worker.run_forever(stop)
    assert limits == [BUSY_STEP] and len(busy.rests) == 1  # a step of four, then a rest

    stop.clear()
    monkeypatch.setattr(runtime.sender, "intake", busy)
    monkeypatch.setattr(runtime.sender, "run_once", lambda: 1)
    assert runtime.sender._batch_size() == BUSY_STEP  # four writes a step while intake is busy
    runtime.sender.run_forever(stop)
    assert len(busy.rests) == 2
