"""`POST /webhooks` as a raw ASGI endpoint: the request's headers and body read
from the ASGI messages themselves, the answer sent as two messages.

What it checks, in order, is what PRODUCT.md says intake checks: the size
(413), the time the body takes to arrive (408), the signature (401), the
headers GitHub always sends and a body that is one strict JSON object (400);
a delivery nobody handles, or without an installation, is answered 200 and
not stored; every other one is stored durably before its 202 (a duplicate
delivery id: 200). It never answers 500: what the database cannot store gets
503 (please redeliver).

Why raw: a Starlette `Request`, its `Headers`, `JSONResponse` and the router
and middleware around them cost more than the rest of intake together
(docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Awaitable, Callable, Optional

import orjson

from bot.pipeline.delivery import PayloadError, delivery_from, read_payload
from bot.pipeline.http_limits import AnswerCycle
from bot.pipeline.pacing import IntakeActivity
from bot.pipeline.routing import Router
from storage.inbox import NewDelivery

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MiB
# The only deliveries a GitHub App gets without an `installation`.
NO_INSTALLATION_EVENTS = frozenset({"ping"})

_HEADERS = (b"x-hub-signature-256", b"x-github-event", b"x-github-delivery", b"content-length")
_JSON = (b"content-type", b"application/json")


def signature_ok(secret: bytes, body: bytes, header: Optional[str]) -> bool:
    """sha256 only: githubkit's own verify would fall back to sha1."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


class _Answer:
    """One answer, its bytes made once."""

    __slots__ = ("status", "body", "headers", "close", "lines")

    def __init__(self, status: int, content: dict, close: bool = False):
        self.status = status
        self.body = orjson.dumps(content)
        self.headers = [_JSON, (b"content-length", str(len(self.body)).encode())] + ([(b"connection", b"close")] if close else [])
        self.close = close
        # Its own header lines, for `AnswerCycle.answer` (which adds `connection: close`).
        self.lines = b"".join(b"%s: %s\r\n" % header for header in self.headers if header[0] != b"connection")


STORED = _Answer(202, {"stored": True, "duplicate": False})
DUPLICATE = _Answer(200, {"stored": False, "duplicate": True})
IGNORED = _Answer(200, {"ignored": True})
TOO_LARGE = _Answer(413, {"error": "payload too large"})
TOO_SLOW = _Answer(408, {"error": "the body took too long to arrive"}, close=True)
BAD_SIGNATURE = _Answer(401, {"error": "bad signature"})
NO_HEADERS = _Answer(400, {"error": "missing X-GitHub-Event or X-GitHub-Delivery"})
NOT_AN_OBJECT = _Answer(400, {"error": "body is not a JSON object"})
NOT_STORED = _Answer(503, {"error": "could not store the delivery; please redeliver"})


class _Disconnected(Exception):
    pass


def _arrived(receive) -> bool:
    """Whether the whole body is already in: uvicorn's cycle (whose bound method
    `receive` is) has read the end of the message, so `receive()` will not wait."""
    return getattr(getattr(receive, "__self__", None), "more_body", True) is False


async def _read_body(receive, length: Optional[bytes], timeout: float) -> Optional[bytes]:
    """The body, or None when it is over MAX_BODY (stops reading there); raises
    TimeoutError when the client takes longer than `timeout` seconds to send it.

    A body already in whole is read without the clock: GitHub's nearly always is
    (it sends the request at once), and the clock cost more than the reading
    (16 µs a request, docs/benchmarks.md, issue 18)."""
    if length is not None:
        try:
            if int(length) > MAX_BODY:
                return None
        except ValueError:
            pass
    if _arrived(receive):
        return await _gather(receive)
    async with asyncio.timeout(timeout):
        return await _gather(receive)


async def _gather(receive) -> Optional[bytes]:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class WebhookEndpoint:
    """The ASGI app behind `POST /webhooks`."""

    def __init__(
        self,
        store: Callable[[NewDelivery], Awaitable[bool]],
        secret: bytes,
        router: Router,
        activity: IntakeActivity,
        body_timeout: float,
    ):
        self.store = store
        self.secret = secret
        self.router = router
        self.activity = activity
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send) -> None:
        self.activity.begin()
        try:
            answer = await self.receive(scope, receive)
        except _Disconnected:
            return  # nobody is left to answer
        finally:
            self.activity.end()
        cycle = getattr(send, "__self__", None)
        if isinstance(cycle, AnswerCycle) and cycle.answer(answer.status, answer.lines, answer.body, answer.close):
            return  # written whole in one call (`devex-bot serve`)
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def receive(self, scope, receive) -> _Answer:
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _HEADERS and name not in found:  # the first of each, as Starlette's Headers.get
                found[name] = value
        try:
            body = await _read_body(receive, found.get(b"content-length"), self.body_timeout)
        except TimeoutError:
            return TOO_SLOW
        if body is None:
            return TOO_LARGE
        signature = found.get(b"x-hub-signature-256")
        if not signature_ok(self.secret, body, signature.decode("latin-1") if signature is not None else None):
            return BAD_SIGNATURE
        event = found.get(b"x-github-event", b"").decode("latin-1")
        delivery_id = found.get(b"x-github-delivery", b"").decode("latin-1")
        if not event or not delivery_id:
            return NO_HEADERS
        try:
            payload = read_payload(body)
        except PayloadError as problem:
            return _Answer(400, {"error": str(problem)})
        if not isinstance(payload, dict):
            return NOT_AN_OBJECT
        action = payload.get("action")
        if not isinstance(action, str):
            action = None
        try:
            if not self.router.handles(event, action, payload):
                return IGNORED
            delivery = delivery_from(delivery_id, event, action, payload, body)
        except PayloadError as problem:
            return _Answer(400, {"error": str(problem)})
        except (AttributeError, TypeError, KeyError):
            return _Answer(400, {"error": f"body is not a {event} delivery"})
        if delivery.installation_id is None and event not in NO_INSTALLATION_EVENTS:
            # The app acts only as an installation: without one there is nothing it can do.
            return IGNORED
        try:
            stored = await self.store(delivery)
        except Exception:
            return NOT_STORED
        return STORED if stored else DUPLICATE
