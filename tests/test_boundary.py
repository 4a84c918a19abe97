"""The boundary holds (issue 13.3): a delivery that cannot be stored gets its own answer
and never changes its neighbours'; what could fail in the worker is refused at intake
or handled; `devex-bot serve` bounds what a slow or greedy client may take."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bot.pipeline.intake import IntakeWriter, create_app
from bot.runtime import ROUTER
from storage import inbox
from storage.inbox import NewDelivery
from tests.conftest import INSTALLATION, SECRET, payload, sign
from tests.processes import Fleet, app_keys, wait_until  # noqa: F401
from tests.test_intake import command_comment, headers_for, post, rows


def _ping(i: int) -> bytes:
    data = payload("ping")
    data["zen"] = f"ping {i}"
    return json.dumps(data).encode()


def test_one_delivery_the_database_refuses_does_not_sink_the_others_stored_with_it(engine, caplog):
    writer = IntakeWriter(engine)
    good = [NewDelivery(f"good-{i}", "ping", None, None, None, f"delivery:good-{i}", "{}") for i in range(39)]
    # Past BIGINT: the database refuses the row (intake itself would answer 400 first).
    bad = NewDelivery("bad", "installation", "created", 2**63, None, "installation:huge", "{}")

    async def together():
        return await asyncio.gather(*(writer.store(d) for d in good[:20] + [bad] + good[20:]), return_exceptions=True)

    with caplog.at_level(logging.WARNING, logger="bot.pipeline.intake"):
        results = asyncio.run(together())
    assert isinstance(results[20], Exception)
    assert results[:20] + results[21:] == [True] * 39
    assert "storing 40 deliveries together failed" in caplog.text
    assert sorted(r["delivery_id"] for r in rows(engine)) == sorted(d.delivery_id for d in good)


def test_an_installation_id_beyond_bigint_gets_400_at_intake_and_its_neighbours_are_stored(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    huge = payload("installation", "created")
    huge["installation"]["id"] = 9223372036854775808
    bodies = [("ping", _ping(i)) for i in range(39)]
    bodies.insert(17, ("installation", json.dumps(huge).encode()))

    async def together():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test") as client:
            return await asyncio.gather(*(client.post("/webhooks", content=body, headers=headers_for(body, event=event)) for event, body in bodies))

    answers = asyncio.run(together())
    assert answers[17].status_code == 400 and "installation.id" in answers[17].json()["error"]
    assert [a.status_code for i, a in enumerate(answers) if i != 17] == [202] * 39
    assert len(rows(engine)) == 39


def _nested(depth: int, inner: str) -> str:
    return '{"a": ' * depth + inner + "}" * depth


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deep_nesting_with_a_nul_escape_is_refused_at_intake(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    data = json.loads(command_comment("/register"))
    body = json.dumps(data)[:-1].encode() + b', "deep": ' + _nested(900, '"x\\u0000y"').encode() + b"}"
    response = post(app, body, headers_for(body))
    assert response.status_code == 400 and "deeper than" in response.json()["error"]
    assert rows(engine) == []
    # What the app ignores is not stored, however deep: answered as ignored.
    ignored = b'{"zen": "deep", "hook": ' + _nested(900, '"x\\u0000"').encode() + b"}"
    assert post(app, ignored, headers_for(ignored, event="watch")).status_code == 200


def test_a_deep_payload_with_nul_already_stored_is_handled_not_failing_in_the_worker(harness, engine):
    data = payload("ping")
    text = json.dumps(data)[:-1] + ', "deep": ' + _nested(900, '"x\\u0000y"') + "}"
    with Session(engine) as session:
        inbox.store(session, NewDelivery("deep-nul", "ping", None, None, None, "delivery:deep-nul", text), harness.clock())
        session.commit()
    assert harness.runtime.worker.drain() == 1
    [row] = rows(engine)
    assert row["status"] == "done" and row["last_error"] is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(engine, constant):
    app = create_app(engine, SECRET.encode(), ROUTER)
    body = command_comment("/register")[:-1] + b', "x": ' + constant + b"}"
    response = post(app, body, headers_for(body))
    assert response.status_code == 400 and "NaN and Infinity" in response.json()["error"]
    assert rows(engine) == []


# ---------------------------------------------------------------- a real server


HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server(app_keys, tmp_path_factory):
    """`devex-bot serve --no-worker` on 127.0.0.1, a free port, with short timeouts."""
    work = tmp_path_factory.mktemp("serve")
    fleet = Fleet(
        f"sqlite:///{work / 'devex.db'}",
        SimpleNamespace(url="http://127.0.0.1:9"),  # GitHub is never called: intake only
        app_keys[0],
        work,
        DEVEX_HTTP_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        DEVEX_HTTP_BODY_TIMEOUT="1",
        LOG_LEVEL="WARNING",
    )
    try:
        fleet.migrate()
        yield fleet.web("web")
    finally:
        fleet.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _connect(web) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=5)
    sock.settimeout(5)
    return sock


def _answer(sock: socket.socket, limit: float = 5.0) -> bytes:
    """What the server sent before closing (b"" when it closed or reset without a word)."""
    data, deadline = b"", time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b"" or True  # data then EOF: it answered and closes
    except BlockingIOError:
        return False
    except (ConnectionResetError, OSError):
        return True


def _delivery_answered_at_once(web) -> float:
    body = _ping(0)
    started = time.monotonic()
    response = httpx.post(web.url + "/webhooks", content=body, headers=headers_for(body, event="ping", delivery=str(uuid.uuid4())), timeout=5)
    elapsed = time.monotonic() - started
    assert response.status_code == 202
    return elapsed


@pytest.mark.slow
def test_a_flood_of_headers_is_refused_and_the_server_stays_small(server):
    before = _rss_kib(server.proc.pid)
    for attempt in range(4):
        sock = _connect(server)
        sock.sendall(b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\n")
        try:
            for block in range(400):  # up to 400,000 headers, 8 MB
                sock.sendall(b"".join(b"X-Flood-%d: v\r\n" % (block * 1000 + i) for i in range(1000)))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused and closed before the flood ended
        answer = _answer(sock)
        sock.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    # One huge header line that never ends is refused too.
    sock = _connect(server)
    try:
        sock.sendall(b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\nX-Huge: ")
        for _ in range(200):
            sock.sendall(b"v" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _answer(sock)
    sock.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
    assert _rss_kib(server.proc.pid) - before < 30 * 1024, "the flood grew the server by 30 MB or more"
    assert _delivery_answered_at_once(server) < 1.0


@pytest.mark.slow
def test_idle_and_partial_requests_are_closed_and_a_delivery_meanwhile_is_answered_at_once(server):
    idle = [_connect(server) for _ in range(100)]
    partial = []
    for _ in range(100):
        sock = _connect(server)
        sock.sendall(b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\nX-Slow: ")
        partial.append(sock)
    try:
        assert _delivery_answered_at_once(server) < 1.0
        wait_until(lambda: all(_closed(s) for s in idle + partial), HEADER_TIMEOUT + 5, "the server to close idle and partial requests")
        # A partial request is told why; an idle connection is just closed.
        probe = _connect(server)
        probe.sendall(b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\n")
        assert _answer(probe, HEADER_TIMEOUT + 3).startswith(b"HTTP/1.1 408")
        probe.close()
    finally:
        for sock in idle + partial:
            sock.close()
    assert _delivery_answered_at_once(server) < 1.0


@pytest.mark.slow
def test_a_body_that_never_finishes_gets_408(server):
    body = _ping(1)
    headers = headers_for(body, event="ping")
    sock = _connect(server)
    head = "POST /webhooks HTTP/1.1\r\nHost: devex.test\r\nContent-Length: %d\r\n" % len(body)
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body[:10])
    started = time.monotonic()
    answer = _answer(sock, 5)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 4


class _Transport:
    """What uvicorn's protocol writes to, each call kept (a write, or writelines' parts)."""

    def __init__(self):
        self.calls: list[list[bytes]] = []
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data) -> None:
        self.calls.append([bytes(data)])

    def writelines(self, parts) -> None:
        self.calls.append([bytes(p) for p in parts])

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _served(
    app, *chunks: bytes, turns: int = 20, transport: Optional[_Transport] = None, plain: bool = False, wait: float = 0.0
) -> _Transport:
    """`devex-bot serve`'s protocol on a transport that records: `chunks` received in
    turn (and, with `transport` given, on that connection's protocol, kept on it).
    `plain`: uvicorn's own protocol instead, as it comes. `wait`: seconds to wait after
    the last chunk, the answers' date and server headers as uvicorn's server sets them."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from bot.pipeline.http_limits import server_options

    if transport is None:
        options = {"http": "httptools"} if plain else server_options(10.0)
        config = Config(app=app, lifespan="off", log_level="warning", access_log=False, **options)  # as `devex-bot serve`
        config.load()
        state = ServerState()
        state.default_headers = [(b"date", b"Wed, 02 Dec 2026 20:00:00 GMT"), (b"server", b"uvicorn")]
        protocol = config.http_protocol_class(config=config, server_state=state, app_state={})
        transport = _Transport()
        transport.protocol = protocol
        protocol.connection_made(transport)
    for chunk in chunks:
        transport.protocol.data_received(chunk)
        for _ in range(turns):
            await asyncio.sleep(0)
    if wait:
        await asyncio.sleep(wait)
    return transport


async def _stored_answer(scope, receive, send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"stored":true}'})


def test_each_answer_goes_out_in_one_write_its_status_line_and_headers_with_its_body():
    """uvicorn writes an answer's head and body apart: two TCP segments, two wake-ups of
    GitHub's side. `devex-bot serve` sends each answer whole, in one write, request after
    request on a kept-alive connection."""
    request = b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\nContent-Length: 2\r\n\r\n{}"
    transport = asyncio.run(_served(_stored_answer, request, request))
    assert len(transport.calls) == 2  # one call an answer
    for call in transport.calls:
        whole = b"".join(call)
        assert whole.startswith(b"HTTP/1.1 202 Accepted\r\n") and whole.endswith(b'\r\n\r\n{"stored":true}')
    assert not transport.closed


def _intake_endpoint(body_timeout: float = 10.0):
    from bot.pipeline.pacing import IntakeActivity
    from bot.pipeline.webhooks import WebhookEndpoint

    async def store(delivery) -> bool:
        return True

    return WebhookEndpoint(store, SECRET.encode(), ROUTER, IntakeActivity(), body_timeout)


def _request(body: bytes, headers: dict, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    lines = b"".join(b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in headers.items())
    return b"POST /webhooks HTTP/%s\r\nHost: devex.test\r\nContent-Length: %d\r\n%s%s\r\n%s" % (version, len(body), lines, extra, body)


_COMMAND = command_comment("/bid 1,000.00")
_INTAKE_REQUESTS = {
    "stored": _request(_COMMAND, headers_for(_COMMAND)),
    "bad signature": _request(_COMMAND, headers_for(_COMMAND, signature="sha256=00")),
    "ignored, HTTP/1.0": _request(_ping(1), headers_for(_ping(1), event="watch"), version=b"1.0"),
    "stored, connection: close": _request(_COMMAND, headers_for(_COMMAND), extra=b"Connection: close\r\n"),
    "a body that does not come": _request(_COMMAND, headers_for(_COMMAND))[: -len(_COMMAND)],
}


@pytest.mark.parametrize("case", list(_INTAKE_REQUESTS))
def test_intake_writes_its_answer_whole_in_one_call_the_bytes_uvicorn_would_write(case):
    """Intake's answers skip uvicorn's two ASGI sends (`AnswerCycle.answer`): the bytes
    are the ones uvicorn's own protocol writes for them, the server's date and server
    headers first, `connection: close` where the connection ends (and then it does),
    and a request pipelined behind is answered after."""
    request = _INTAKE_REQUESTS[case]
    endpoint = _intake_endpoint(body_timeout=0.05)
    follow = b"" if case == "a body that does not come" else _INTAKE_REQUESTS["stored"]
    ours = asyncio.run(_served(endpoint, request + follow, wait=0.2))
    uvicorns = asyncio.run(_served(endpoint, request + follow, plain=True, wait=0.2))
    def written(transport: _Transport) -> bytes:
        return b"".join(b"".join(call) for call in transport.calls)

    assert written(ours) == written(uvicorns) and ours.closed == uvicorns.closed
    assert len(uvicorns.calls) == 2 * len(ours.calls)  # uvicorn: a head, then a body
    assert all(len(call) == 1 for call in ours.calls)  # ours: each answer one buffer, made whole
    first = b"".join(ours.calls[0])
    assert first.startswith(b"HTTP/1.1 %s" % {"stored": b"202", "bad signature": b"401", "ignored, HTTP/1.0": b"200", "stored, connection: close": b"202", "a body that does not come": b"408"}[case])
    assert first.split(b"\r\n")[1:3] == [b"date: Wed, 02 Dec 2026 20:00:00 GMT", b"server: uvicorn"]
    closes = case in ("ignored, HTTP/1.0", "stored, connection: close", "a body that does not come")
    assert (b"\r\nconnection: close\r\n" in first) == closes and ours.closed == closes
    if not closes:
        assert len(ours.calls) == 2 and b"".join(ours.calls[1]).startswith(b"HTTP/1.1 202 Accepted\r\n")


def test_a_100_continue_goes_out_at_once_and_an_answer_cut_short_still_sends_its_head():
    """The interim `100 Continue` is not held (the client waits for it to send the body);
    an app that fails after starting its answer: its head is sent before the connection closes."""
    asked = b"POST /webhooks HTTP/1.1\r\nHost: devex.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"

    async def continued() -> _Transport:
        transport = await _served(_stored_answer, asked)
        assert transport.calls == [[b"HTTP/1.1 100 Continue\r\n\r\n"]]  # at once, alone
        return await _served(_stored_answer, b"{}", transport=transport)

    transport = asyncio.run(continued())
    assert len(transport.calls) == 2 and b"".join(transport.calls[1]).startswith(b"HTTP/1.1 202 Accepted\r\n")

    async def fails(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        raise RuntimeError("the app broke after its head")

    transport = asyncio.run(_served(fails, b"GET /board HTTP/1.1\r\nHost: devex.test\r\n\r\n"))
    assert transport.closed
    assert b"".join(b"".join(call) for call in transport.calls).startswith(b"HTTP/1.1 200 OK\r\n")
