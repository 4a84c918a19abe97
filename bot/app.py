"""The web process: `POST /webhooks` (intake) and `GET /healthz`.

Intake answers GitHub as soon as a delivery is durably stored, and does no
other work: the worker applies it afterwards. Concurrent deliveries are
stored in one transaction together (group commit), so many connections share
one disk flush.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Callable, Optional

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.intake import delivery_from
from bot.routing import Router
from storage import inbox
from storage.db import ping
from storage.inbox import NewDelivery
from storage.tables import utcnow

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MiB
BATCH = 200


def signature_ok(secret: bytes, body: bytes, header: Optional[str]) -> bool:
    """sha256 only: githubkit's own verify would fall back to sha1."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


class IntakeWriter:
    """Stores deliveries; requests arriving together share one commit."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.clock = clock
        self._queue: Optional[asyncio.Queue] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None

    def _store_batch(self, deliveries: list[NewDelivery]) -> list[bool]:
        with Session(self.engine) as session:
            results = inbox.store_many(session, deliveries, self.clock())
            session.commit()
        return results

    async def store(self, delivery: NewDelivery) -> bool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue))
        future: asyncio.Future = loop.create_future()
        await self._queue.put((delivery, future))
        return await future

    async def _run(self, queue: asyncio.Queue) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            # A delivery id twice in one batch: the second is a duplicate.
            try:
                results = await anyio.to_thread.run_sync(self._store_batch, [d for d, _ in batch])
            except Exception as exc:  # the database is down: every waiter gets a 503
                log.exception("could not store %d deliveries", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), stored in zip(batch, results):
                if not future.done():
                    future.set_result(stored)


async def _read_body(request: Request) -> Optional[bytes]:
    """The body, or None when it is over MAX_BODY (stops reading there)."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                return None
        except ValueError:
            pass
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    engine: Engine, webhook_secret: bytes, router: Router, *, lifespan=None, clock: Callable[[], datetime] = utcnow
) -> Starlette:
    writer = IntakeWriter(engine, clock)

    async def webhooks(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        if not signature_ok(webhook_secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = request.headers.get("x-github-event")
        delivery_id = request.headers.get("x-github-delivery")
        if not event or not delivery_id:
            return JSONResponse({"error": "missing X-GitHub-Event or X-GitHub-Delivery"}, status_code=400)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        if not router.handles(event, action, payload):
            return JSONResponse({"ignored": True}, status_code=200)
        delivery = delivery_from(delivery_id, event, action, payload, body)
        try:
            stored = await writer.store(delivery)
        except Exception:
            return JSONResponse({"error": "could not store the delivery; please redeliver"}, status_code=503)
        return JSONResponse({"stored": stored, "duplicate": not stored}, status_code=202 if stored else 200)

    async def healthz(request: Request) -> Response:
        healthy = await anyio.to_thread.run_sync(ping, engine)
        return JSONResponse({"database": "ok" if healthy else "unreachable"}, status_code=200 if healthy else 503)

    return Starlette(
        routes=[Route("/webhooks", webhooks, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])],
        lifespan=lifespan,
    )
