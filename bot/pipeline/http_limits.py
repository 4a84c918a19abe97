"""What a slow or greedy client may take from `devex-bot serve`.

uvicorn's httptools protocol keeps every header a client sends (a million
headers were stored, four million took the server from 258 to 708 MB) and
waits for ever for a request that never ends, or never starts (5,000 idle
connections stayed open). This protocol bounds them:

- at most `MAX_HEADERS` headers and `MAX_HEADER_BYTES` of request line and
  headers: past that the client gets 431 and the connection is closed, and
  nothing more of it is read or kept;
- a request's line and headers must arrive within `header_timeout` seconds of
  its first byte, and a new connection must start one within as long: else 408
  (or, for one that sent nothing, just closed);
- between requests uvicorn's keep-alive timeout closes an idle connection; the
  body's own time is bounded by the app (`bot.pipeline.intake`, 408).

GitHub sends about fifteen headers of a few hundred bytes, at once, and times
out itself after ten seconds: nothing it sends comes near these limits.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

log = logging.getLogger(__name__)

MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024  # request line and headers
# Connections (and requests in flight) past which uvicorn answers 503 at once.
LIMIT_CONCURRENCY = 4096
KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Refused(Exception):
    """Stops the parser: the request was answered and the connection closed."""


class HeadWithBody:
    """The transport a request's cycle answers on: its status line and headers are held
    and go out with the first of the body, in one write (one TCP segment, one wake-up
    of the client), not two. uvicorn writes them apart; GitHub's connections, like
    every client, read the answer as one. The interim `100 Continue` is not held:
    the client waits for it before it sends the body."""

    __slots__ = ("_transport", "_held", "_first")

    def __init__(self, transport: asyncio.Transport):
        self._transport = transport
        self._held: Optional[bytes] = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first and not data.startswith(b"HTTP/1.1 100 "):
            self._first = False
            self._held = data
            return
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.writelines((held, data))
            return
        self._transport.write(data)

    def write_whole(self, data: bytes) -> None:
        """An answer whole (head and body), in one write: nothing held."""
        self._first = False
        self._transport.write(data)

    def close(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class AnswerCycle(RequestResponseCycle):
    """uvicorn's request-response cycle, which can also write a fixed answer whole in one
    call: intake's (bot.pipeline.webhooks), whose status, headers and body are made
    once. It does what uvicorn's two `send`s do for such an answer (the server's
    `date` and `server` headers first, `connection: close` where the connection
    ends, the pipelined request after it started), without the two ASGI messages
    and the checks of each header, which cost intake 8 % of a request's CPU."""

    def answer(self, status: int, headers: bytes, body: bytes, close: bool = False) -> bool:
        """`headers`: the answer's own header lines, valid and lower-case, its
        content-length among them and no connection header (`close` says that).
        False, nothing written, where it cannot be written so (the answer already
        started, the client gone, a full write buffer, a HEAD, an access log to
        write): the caller then sends it as ASGI says."""
        if (
            self.response_started
            or self.disconnected
            or self.flow.write_paused
            or self.access_log
            or self.scope["method"] == "HEAD"
            or not isinstance(self.transport, HeadWithBody)
        ):
            return False
        self.response_started = self.response_complete = True
        self.waiting_for_100_continue = False
        if close:
            self.keep_alive = False
        content = [STATUS_LINE[status]]
        for name, value in self.default_headers:
            content += (name, b": ", value, b"\r\n")
        content.append(headers)
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        self.transport.write_whole(b"".join(content))
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
        return True


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: Optional[asyncio.TimerHandle] = None
        self._began = False
        self._refused = False
        self._count = 0
        self._bytes = 0
        self._raw = 0  # bytes received whole while headers were still incomplete

    # -- the clock on a request's line and headers

    def _arm(self) -> None:
        self._disarm()
        self._timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._began:
            self._refuse(408)
        else:
            self._refused = True
            self.transport.close()

    def _refuse(self, status: int) -> None:
        self._refused = True
        self._disarm()
        reason = _REASONS[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(reason), reason)
        )
        self.transport.close()
        log.warning("HTTP %d: %s:%s", status, *(self.client or ("?", "?")))

    # -- uvicorn's protocol, bounded

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a request is closed too

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: nothing more is read or kept
        in_headers = self._began
        super().data_received(data)
        if in_headers and self._began and not self._refused:
            # httptools keeps an unfinished header line to itself: count what it was given.
            self._raw += len(data)
            if self._raw > MAX_HEADER_BYTES:
                self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # _Refused stops the parser as an error would
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began, self._count, self._bytes, self._raw = True, 0, 0, 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._bytes += len(url)
        if self._bytes > MAX_HEADER_BYTES:
            self._refuse(431)
            raise _Refused()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count += 1
        self._bytes += len(name) + len(value) + 4
        if self._count > MAX_HEADERS or self._bytes > MAX_HEADER_BYTES:
            self._refuse(431)
            raise _Refused()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._began = False
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = HeadWithBody(self.transport)
            if type(cycle) is RequestResponseCycle:
                cycle.__class__ = AnswerCycle  # the same object, one method more (its task has not run yet)


def protocol(header_timeout: float) -> type:
    """The protocol class for `uvicorn.Config(http=...)` with this timeout."""
    return type("GuardedHttp", (GuardedHttpToolsProtocol,), {"header_timeout": header_timeout})


def server_options(header_timeout: float) -> dict:
    """uvicorn.Config keywords for `devex-bot serve`."""
    return {
        "http": protocol(header_timeout),
        "timeout_keep_alive": KEEP_ALIVE,
        "limit_concurrency": LIMIT_CONCURRENCY,
        # Applies if uvicorn is ever run with h11 instead.
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
