"""Intake first (bot/pipeline/pacing.py, issue 18): a background thread of `devex-bot
serve` rests after each step in proportion to the step and to intake's load meanwhile."""

from __future__ import annotations

import time

import pytest

from bot.pipeline.pacing import FULL_LOAD, REST_FACTOR, IntakeActivity


class _Stop:
    """A stop event that records the rests asked of it instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return False


def _step(activity: IntakeActivity, requests: int, seconds: float) -> list[float]:
    """A step of `seconds` during which intake began `requests` (one, begun before it, still
    in flight: intake is busy): the rests asked."""
    stop = _Stop()
    activity.begin()
    begun = activity.begun
    for _ in range(requests):
        activity.begin()
        activity.end()
    try:
        activity.rest(stop, time.monotonic() - seconds, begun)
    finally:
        activity.end()
    return stop.waits


def test_the_real_values():
    assert (REST_FACTOR, FULL_LOAD) == (24.0, 500.0)


def test_under_a_burst_a_step_rests_the_full_factor_of_its_length():
    (rest,) = _step(IntakeActivity(), requests=200, seconds=0.05)  # 4,000 a second
    assert rest == pytest.approx(REST_FACTOR * 0.05, rel=0.1)


def test_under_a_lighter_load_a_step_rests_in_proportion():
    requests = int(FULL_LOAD / 4 * 0.2)  # a quarter of full load, over 0.2 s
    (rest,) = _step(IntakeActivity(), requests=requests, seconds=0.2)
    assert rest == pytest.approx(REST_FACTOR / 4 * 0.2, rel=0.1)


def test_a_step_during_which_no_request_came_in_does_not_rest():
    assert _step(IntakeActivity(), requests=0, seconds=0.05) == []


def test_nothing_rests_once_intake_is_quiet():
    activity = IntakeActivity()
    begun = activity.begun
    for _ in range(100):
        activity.begin()
        activity.end()
    activity.last -= IntakeActivity.RECENT * 2  # the last request long answered
    stop = _Stop()
    activity.rest(stop, time.monotonic() - 0.05, begun)
    assert stop.waits == []
