"""SQLite intake's flush to the disk by a helper process (bot/pipeline/walsync.py, issue 18):
a batch is committed on the loop without waiting for the disk, and no delivery of it
is answered before the helper has flushed the log; a helper that is gone or cannot
flush never lets a delivery be answered as stored before it is on the disk."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest

from bot.pipeline.intake import create_app
from bot.runtime import ROUTER
from tests.conftest import SECRET
from tests.test_intake_loop import _bid, _committed, _stored

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _writer(app):
    return app.webhooks.store.__self__


async def _post(app, body, headers) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:
        return await client.post("/webhooks", content=body, headers=headers)


def test_a_delivery_is_answered_only_once_the_helper_has_flushed_the_log(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    first, first_headers = _bid(1)
    assert asyncio.run(_post(app, first, first_headers)).status_code == 202  # starts the helper
    flusher = _writer(app)._flusher
    assert flusher is not None and flusher.pid is not None
    body, headers = _bid(2)

    async def go():
        os.kill(flusher.pid, signal.SIGSTOP)  # the helper cannot flush until it is let go
        try:
            answer = asyncio.ensure_future(_post(app, body, headers))
            await asyncio.sleep(0.5)
            waiting = not answer.done()
            committed = _committed(engine, headers["X-GitHub-Delivery"])
        finally:
            os.kill(flusher.pid, signal.SIGCONT)
        return waiting, committed, await asyncio.wait_for(answer, 10)

    waiting, committed, answer = asyncio.run(go())
    assert waiting  # no answer while the log was not flushed
    assert committed  # though the batch was committed: only the flush was awaited
    assert answer.status_code == 202 and answer.json() == {"stored": True, "duplicate": False}
    assert _stored(engine) == 2


def test_with_its_helper_gone_intake_flushes_on_its_own_thread_and_goes_on(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    body, headers = _bid(1)
    assert asyncio.run(_post(app, body, headers)).status_code == 202
    flusher = _writer(app)._flusher
    os.kill(flusher.pid, signal.SIGKILL)
    time.sleep(0.2)

    async def burst():
        bids = [_bid(n) for n in range(2, 12)]
        answers = await asyncio.gather(*(_post(app, b, h) for b, h in bids))
        return [(a.status_code, _committed(engine, h["X-GitHub-Delivery"])) for a, (_, h) in zip(answers, bids)]

    assert asyncio.run(burst()) == [(202, True)] * 10  # answered on a new loop as well
    assert _stored(engine) == 11


def test_a_log_that_cannot_be_flushed_is_answered_503_and_the_redelivery_is_a_duplicate(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    _writer(app)._flusher.path = engine.url.database + "-not-there/wal"  # neither the helper nor the loop can flush it
    body, headers = _bid(1)
    answer = asyncio.run(_post(app, body, headers))
    assert answer.status_code == 503 and answer.json() == {"error": "could not store the delivery; please redeliver"}
    assert _committed(engine, headers["X-GitHub-Delivery"])  # kept: the worker will handle it
    restarted = create_app(engine, SECRET.encode(), ROUTER)
    redelivery = asyncio.run(_post(restarted, body, headers))  # GitHub's redelivery, same id
    assert redelivery.status_code == 200 and redelivery.json() == {"stored": False, "duplicate": True}
    assert _stored(engine) == 1
