"""Intake on the event loop (issue 18): on SQLite a batch is stored on the loop's
own thread only when the write lock is free that instant, and otherwise waits
for it on a thread, so the loop never stops answering; on PostgreSQL batches
are stored with psycopg's asynchronous API and committed before their answers.
Requests that are not intake's still see a trusted proxy's headers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.pipeline.intake import create_app
from bot.runtime import ROUTER
from storage import inbox
from storage.db import WriteLockBusy, at_once
from tests.conftest import SECRET, payload, sign


def _bid(number: int = 7) -> tuple[bytes, dict]:
    data = payload("issue_comment", "created")
    data["comment"]["body"] = "/bid 5000\nI will do it."
    data["issue"]["number"] = number
    data["installation"] = {"id": 77}
    body = json.dumps(data).encode()
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, SECRET),
        "Content-Type": "application/json",
    }
    return body, headers


def _stored(engine) -> int:
    with Session(engine) as session:
        return session.exec(sa.select(sa.func.count()).select_from(inbox.Delivery)).one()[0]


def _hold_write_lock(engine, seconds: float, taken: threading.Event) -> threading.Thread:
    """Another thread of the process (the worker, say) in a write transaction for `seconds`."""

    def hold():
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
            taken.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_at_once_begins_only_while_the_write_lock_is_free(engine):
    taken = threading.Event()
    holder = _hold_write_lock(engine, 0.5, taken)
    assert taken.wait(5)
    began = time.monotonic()
    with pytest.raises(WriteLockBusy):
        with at_once(engine).begin():
            pass
    assert time.monotonic() - began < 0.2  # said at once, not after a wait
    holder.join()
    with at_once(engine).begin() as connection:  # free again: it begins, and holds nothing after
        connection.exec_driver_sql("SELECT 1")
    with engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_delivery_waits_for_the_write_lock_off_the_loop_which_goes_on_answering(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    body, headers = _bid()
    taken = threading.Event()
    holder = _hold_write_lock(engine, 1.0, taken)
    assert taken.wait(5)
    released_at = time.monotonic() + 1.0

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:
            stored = asyncio.ensure_future(client.post("/webhooks", content=body, headers=headers))
            await asyncio.sleep(0.1)
            health = await client.get("/webhooks")  # answered by the loop, no database
            health_at = time.monotonic()
            answer = await stored
            return health, health_at, answer, time.monotonic()

    health, health_at, answer, answered_at = asyncio.run(go())
    holder.join()
    assert health.status_code == 405 and health_at < released_at - 0.3  # the loop was not waiting for the lock
    assert answer.status_code == 202 and answer.json() == {"stored": True, "duplicate": False}
    assert answered_at >= released_at - 0.3  # stored once the lock was free, not before
    assert _stored(engine) == 1


def _committed(engine, delivery_id: str) -> bool:
    """Whether another connection (not the app's, not its pool) sees the delivery: committed."""
    if engine.dialect.name == "sqlite":
        import sqlite3

        connection = sqlite3.connect(engine.url.database)
        try:
            return connection.execute("SELECT count(*) FROM deliveries WHERE delivery_id = ?", (delivery_id,)).fetchone()[0] == 1
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM deliveries WHERE delivery_id = %s", (delivery_id,)).fetchone()[0] == 1


def test_a_burst_is_stored_once_each_and_answered_after_its_commit(engine):
    """Both databases: many deliveries at once (several batches, on PostgreSQL in
    parallel on intake's own connections), each stored once, a repeat a duplicate;
    each one committed (seen from another connection) by the time its 202 arrives."""
    app = create_app(engine, SECRET.encode(), ROUTER)
    bids = [_bid(n) for n in range(40)]
    repeat = bids[3]

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:

            async def post(body, headers):
                response = await client.post("/webhooks", content=body, headers=headers)
                return response, _committed(engine, headers["X-GitHub-Delivery"])  # at once, before the next turn

            first = await asyncio.gather(*(post(b, h) for b, h in bids))
            again = await client.post("/webhooks", content=repeat[0], headers=repeat[1])
            return first, again

    first, again = asyncio.run(go())
    assert [(r.status_code, committed) for r, committed in first] == [(202, True)] * 40
    assert again.status_code == 200 and again.json() == {"stored": False, "duplicate": True}
    assert _stored(engine) == 40
    with Session(engine) as session:
        keys = session.exec(sa.select(inbox.Delivery.ordering_key)).scalars().all()
    assert len(set(keys)) == 40


def test_other_requests_see_a_trusted_proxys_headers_and_intake_needs_none(engine):
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"scheme": request.url.scheme, "client": request.client.host if request.client else None})

    app = create_app(engine, SECRET.encode(), ROUTER, routes=[Route("/echo", echo)])
    app.behind_proxy("127.0.0.1")
    body, headers = _bid()

    async def go():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:
            proxied = await client.get("/echo", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
            stored = await client.post("/webhooks", content=body, headers=headers)
            return proxied, stored

    proxied, stored = asyncio.run(go())
    assert proxied.json() == {"scheme": "https", "client": "203.0.113.9"}
    assert stored.status_code == 202
