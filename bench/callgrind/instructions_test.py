"""The instructions a part of the bot executes for 100 bids, counted by callgrind
(bench/callgrind/count.sh; docs/benchmarks.md, issue 18): 5 opportunities x 20 bidders
registered and bidding through the test suite's harness, the configuration cached,
and only the worker's drain of the bids (PART=worker) or the sender's of their writes
(PART=sender; SEND_ONE=1 for one write a batch, as paced writes go) counted. Not a
test of the suite (outside `tests/`); run with `-p tests.conftest` for its fixtures."""

from __future__ import annotations

import gc
import os

import pytest

from bench.scenario import PROPOSAL
from tests.flows import open_opportunity

OPPORTUNITIES, BIDDERS = 5, 20


def _counting(on: bool) -> None:
    import cgtoggle  # built by count.sh

    cgtoggle.start() if on else cgtoggle.stop()


@pytest.mark.parametrize("db_url", [os.environ.get("DB", "postgresql")], indirect=True)  # the one database counted
def test_count(make_harness, db_url):
    harness = make_harness(DEVEX_CONFIG_TTL=3600)
    numbers = [open_opportunity(harness, title=f"Opportunity {i}") for i in range(OPPORTUNITIES)]
    for number in numbers:
        for b in range(BIDDERS):
            harness.comment(number, f"bidder-{b:03d}", "/register", run=False)
    harness.run()
    for number in numbers:
        for b in range(BIDDERS):
            harness.comment(number, f"bidder-{b:03d}", f"/bid {8000 + b * 10:,}.00\n{PROPOSAL} (proposal {b})", run=False)
    gc.collect()
    gc.freeze()
    if os.environ.get("PART", "worker") == "worker":
        _counting(True)
        done = harness.runtime.worker.drain()
        _counting(False)
        assert done == OPPORTUNITIES * BIDDERS
        return
    assert harness.runtime.worker.drain() == OPPORTUNITIES * BIDDERS
    if os.environ.get("SEND_ONE"):
        harness.runtime.sender._batch_size = lambda: 1
    _counting(True)
    sent = harness.runtime.sender.drain()
    _counting(False)
    assert sent >= 2 * OPPORTUNITIES * BIDDERS
