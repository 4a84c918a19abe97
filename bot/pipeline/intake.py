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
import logging
from datetime import datetime
from typing import Callable, Optional, Sequence, Union

import anyio
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.pipeline.delivery import PayloadError, delivery_from, read_payload
from bot.pipeline.pacing import IntakeActivity
from bot.pipeline.routing import Router
from storage import inbox
from storage.db import ping, try_again, urgent
from storage.inbox import NewDelivery
from storage.tables import utcnow

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MiB
BATCH = 200
STORE_ATTEMPTS = 3
# The only deliveries a GitHub App gets without an `installation`.
NO_INSTALLATION_EVENTS = frozenset({"ping"})


def signature_ok(secret: bytes, body: bytes, header: Optional[str]) -> bool:
    """sha256 only: githubkit's own verify would fall back to sha1."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def _database_unreachable(exc: BaseException) -> bool:
    """The database itself is away (not one delivery it refuses): a connection lost or refused."""
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or (isinstance(exc, OperationalError) and not try_again(exc)))


class IntakeWriter:
    """Stores deliveries; requests arriving together share one commit."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        # Urgent: on SQLite its turn at the write lock comes before background work's.
        self.engine = urgent(engine)
        self.clock = clock
        self._queue: Optional[asyncio.Queue] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None

    def _store_batch(self, deliveries: list[NewDelivery]) -> list[Union[bool, BaseException]]:
        """Each delivery's answer: stored (True), a duplicate (False), or why it could not be."""
        try:
            return list(self._store_together(deliveries))
        except Exception as exc:
            if len(deliveries) == 1:
                return [exc]
            if _database_unreachable(exc):
                return [exc] * len(deliveries)  # every one would fail the same way, one by one
            if isinstance(exc, DBAPIError) and try_again(exc):
                # Two web processes storing the same delivery ids in crossed order (GitHub
                # redelivering while the first attempt is in flight) deadlock on the unique
                # key, and PostgreSQL aborts one.
                log.warning("storing %d deliveries together met a deadlock; storing them one by one", len(deliveries))
            else:
                # One delivery the database refuses must not sink the others stored with it.
                log.warning("storing %d deliveries together failed (%s); storing them one by one", len(deliveries), type(exc).__name__)
        # One delivery per transaction, in the order received: it cannot deadlock, and
        # each gets its own answer.
        return [self._store_alone(d) for d in deliveries]

    def _store_together(self, deliveries: list[NewDelivery]) -> list[bool]:
        with Session(self.engine) as session:
            results = inbox.store_many(session, deliveries, self.clock())
            session.commit()
        return results

    def _store_alone(self, delivery: NewDelivery) -> Union[bool, BaseException]:
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._store_together([delivery])[0]
            except Exception as exc:
                if attempt == STORE_ATTEMPTS or not (isinstance(exc, DBAPIError) and try_again(exc)):
                    log.error("could not store delivery %s (%s.%s): %s", delivery.delivery_id, delivery.event, delivery.action, type(exc).__name__)
                    return exc
        raise AssertionError("unreachable")

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
            except Exception as exc:  # pragma: no cover - _store_batch answers for each
                results = [exc] * len(batch)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed and len(failed) == len(batch):
                log.error("could not store %d deliveries: %s", len(batch), type(failed[0]).__name__)
            for (_, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, timeout: float) -> bytes:
    """The body; raises _TooLarge over MAX_BODY (stops reading there), TimeoutError
    when the client takes longer than `timeout` seconds to send it."""
    with anyio.fail_after(timeout):
        body = await _read_body_unbounded(request)
    if body is None:
        raise _TooLarge()
    return body


async def _read_body_unbounded(request: Request) -> Optional[bytes]:
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
    engine: Engine,
    webhook_secret: bytes,
    router: Router,
    *,
    lifespan=None,
    clock: Callable[[], datetime] = utcnow,
    activity: Optional[IntakeActivity] = None,
    body_timeout: float = 30.0,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The web process; `routes` are mounted after intake's (the public board...)."""
    writer = IntakeWriter(engine, clock)
    activity = activity or IntakeActivity()

    async def webhooks(request: Request) -> Response:
        activity.begin()
        try:
            return await receive(request)
        finally:
            activity.end()

    async def receive(request: Request) -> Response:
        try:
            body = await _read_body(request, body_timeout)
        except _TooLarge:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        except TimeoutError:
            return JSONResponse({"error": "the body took too long to arrive"}, status_code=408, headers={"connection": "close"})
        if not signature_ok(webhook_secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = request.headers.get("x-github-event")
        delivery_id = request.headers.get("x-github-delivery")
        if not event or not delivery_id:
            return JSONResponse({"error": "missing X-GitHub-Event or X-GitHub-Delivery"}, status_code=400)
        try:
            payload = read_payload(body)
        except PayloadError as problem:
            return JSONResponse({"error": str(problem)}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        try:
            if not router.handles(event, action, payload):
                return JSONResponse({"ignored": True}, status_code=200)
            delivery = delivery_from(delivery_id, event, action, payload, body)
        except PayloadError as problem:
            return JSONResponse({"error": str(problem)}, status_code=400)
        except (AttributeError, TypeError, KeyError):
            return JSONResponse({"error": f"body is not a {event} delivery"}, status_code=400)
        if delivery.installation_id is None and event not in NO_INSTALLATION_EVENTS:
            # The app acts only as an installation: without one there is nothing it can do.
            return JSONResponse({"ignored": True}, status_code=200)
        try:
            stored = await writer.store(delivery)
        except Exception:
            return JSONResponse({"error": "could not store the delivery; please redeliver"}, status_code=503)
        return JSONResponse({"stored": stored, "duplicate": not stored}, status_code=202 if stored else 200)

    async def healthz(request: Request) -> Response:
        healthy = await anyio.to_thread.run_sync(ping, engine)
        return JSONResponse({"database": "ok" if healthy else "unreachable"}, status_code=200 if healthy else 503)

    return Starlette(
        routes=[Route("/webhooks", webhooks, methods=["POST"]), Route("/healthz", healthz, methods=["GET"]), *routes],
        lifespan=lifespan,
    )
