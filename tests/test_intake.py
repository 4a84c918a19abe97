"""POST /webhooks and GET /healthz: PRODUCT.md "HTTP interface", and the webhook abuse matrix (issue 6.1).

Every refusal leaves no row in `deliveries`; every answer is one PRODUCT.md
names (401, 400, 413, 2xx), never a 500.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import uuid

import httpx
import pytest
import sqlalchemy as sa

from bot.pipeline.intake import MAX_BODY, create_app, signature_ok
from bot.runtime import ROUTER
from storage.db import make_engine
from tests.conftest import INSTALLATION, REPO, SECRET, payload, sign
from tests.spine import OPEN_FORM, sqlite_only

GITHUB_VECTOR_SECRET = "It's a Secret to Everybody"
GITHUB_VECTOR_BODY = b"Hello, World!"
GITHUB_VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


# ------------------------------------------------------------------ helpers


def post(app, body, headers: dict) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test") as client:
            return await client.post("/webhooks", content=body, headers=headers)

    return asyncio.run(go())


def get(app, path: str) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test") as client:
            return await client.get(path)

    return asyncio.run(go())


def headers_for(body: bytes, event: str = "issue_comment", delivery: str | None = None, signature: str | None = "sign") -> dict:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return headers


def command_comment(body: str = "/register") -> bytes:
    """A real issue_comment.created delivery that the app wants (a human's command)."""
    data = payload("issue_comment", "created.with-installation")
    data["comment"]["body"] = body
    data["installation"]["id"] = INSTALLATION
    return json.dumps(data).encode()


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM deliveries ORDER BY id"))]


@pytest.fixture
def app(engine):
    return create_app(engine, SECRET.encode(), ROUTER)


# ------------------------------------------------------------------ signatures


def test_githubs_documented_test_vector():
    assert signature_ok(GITHUB_VECTOR_SECRET.encode(), GITHUB_VECTOR_BODY, GITHUB_VECTOR_SIGNATURE)
    assert not signature_ok(GITHUB_VECTOR_SECRET.encode(), GITHUB_VECTOR_BODY + b" ", GITHUB_VECTOR_SIGNATURE)
    assert not signature_ok(b"another secret", GITHUB_VECTOR_BODY, GITHUB_VECTOR_SIGNATURE)


def test_signature_checks_refuse_everything_but_a_whole_sha256():
    secret, body = GITHUB_VECTOR_SECRET.encode(), GITHUB_VECTOR_BODY
    sha1 = "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()
    for header in (None, "", "sha256=", sha1, GITHUB_VECTOR_SIGNATURE[:-1], GITHUB_VECTOR_SIGNATURE[:20],
                   GITHUB_VECTOR_SIGNATURE.upper(), GITHUB_VECTOR_SIGNATURE.replace("sha256=", "sha512="),
                   GITHUB_VECTOR_SIGNATURE + "00", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"):
        assert not signature_ok(secret, body, header), header
    # No secret configured: nothing is ever accepted.
    assert not signature_ok(b"", body, "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest())


def _sha1(body: bytes) -> str:
    return "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    "make_signature",
    [
        pytest.param(lambda body: None, id="missing"),
        pytest.param(lambda body: sign(body, "wrong secret"), id="wrong-secret"),
        pytest.param(lambda body: sign(body + b"x"), id="signed-another-body"),
        pytest.param(_sha1, id="sha1-only"),
        pytest.param(lambda body: "sha256=" + _sha1(body)[5:], id="sha1-digest-as-sha256"),
        pytest.param(lambda body: sign(body)[:-1], id="truncated"),
        pytest.param(lambda body: sign(body)[:7], id="prefix-only"),
        pytest.param(lambda body: sign(body)[7:], id="no-prefix"),
    ],
)
@sqlite_only
def test_bad_signatures_get_401_and_store_nothing(app, engine, make_signature):
    body = command_comment()
    headers = headers_for(body, signature=make_signature(body))
    if "X-Hub-Signature-256" in headers and headers["X-Hub-Signature-256"] is None:
        del headers["X-Hub-Signature-256"]
    response = post(app, body, headers)
    assert response.status_code == 401
    assert rows(engine) == []


@sqlite_only
def test_a_sha1_header_beside_no_sha256_is_refused(app, engine):
    body = command_comment()
    headers = headers_for(body, signature=None)
    headers["X-Hub-Signature"] = _sha1(body)
    assert post(app, body, headers).status_code == 401
    assert rows(engine) == []


@sqlite_only
def test_the_signature_is_checked_before_anything_is_read_from_the_body(app, engine):
    for body in (b"", b"not json", b"[]"):
        assert post(app, body, headers_for(body, signature=sign(body, "wrong"))).status_code == 401
    assert post(app, b"{}", {"X-Hub-Signature-256": sign(b"{}", "wrong")}).status_code == 401
    assert rows(engine) == []


# ------------------------------------------------------------------ headers


@sqlite_only
@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_event_or_delivery_header_is_400(app, engine, missing):
    body = command_comment()
    headers = headers_for(body)
    del headers[missing]
    assert post(app, body, headers).status_code == 400
    headers = headers_for(body)
    headers[missing] = ""
    assert post(app, body, headers).status_code == 400
    assert rows(engine) == []


# ------------------------------------------------------------------ bodies


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _with_surrogate() -> bytes:
    # Bytes that encode a UTF-16 surrogate: not UTF-8, though Python's json.loads
    # (surrogatepass) would read them.
    return command_comment("/register SURROGATE").replace(b"SURROGATE", b"\xed\xa0\x80")


BAD_BODIES = {
    "empty": b"",
    "whitespace": b"  \n",
    "not-json": b"action=created&comment=/bid",
    "truncated-json": command_comment()[:-10],
    "json-array": b'[{"action": "created"}]',
    "json-string": b'"hello"',
    "json-number": b"42",
    "json-null": b"null",
    "deeply-nested-object": _nested(100_000),
    "deeply-nested-array": b"[" * 100_000 + b"]" * 100_000,
    "invalid-utf8": b'{"action": "created", "zen": "\xff\xfe"}',
    "invalid-utf8-in-a-handled-delivery": command_comment("/register LATIN1").replace(b"LATIN1", b"\xe9t\xe9"),
    "utf8-encoded-surrogate": _with_surrogate(),
    "utf8-bom": b"\xef\xbb\xbf" + command_comment(),
    "utf16": command_comment().decode().encode("utf-16"),
    "nan": b'{"action": "created", "x": NaN}',
}


@sqlite_only
@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bodies_that_are_not_a_json_object_get_400_and_store_nothing(app, engine, name):
    body = BAD_BODIES[name]
    response = post(app, body, headers_for(body))
    assert response.status_code == 400, response.text
    assert rows(engine) == []


@sqlite_only
def test_a_moderately_nested_object_is_fine(app, engine):
    body = json.dumps({"zen": "deep", "hook": json.loads(_nested(200))}).encode()
    assert post(app, body, headers_for(body, event="watch")).status_code == 200
    assert rows(engine) == []


@sqlite_only
def test_over_25_mib_is_413_and_stores_nothing(app, engine):
    body = b'{"zen": "' + b"a" * (MAX_BODY + 1 - 11) + b'"}'
    assert len(body) == MAX_BODY + 1
    response = post(app, body, headers_for(body))
    assert response.status_code == 413
    assert rows(engine) == []


@sqlite_only
def test_over_25_mib_without_content_length_is_413(app, engine):
    """A chunked body with no Content-Length is cut off at the limit too."""
    chunk = b"a" * (1024 * 1024)

    async def stream():
        yield b'{"zen": "'
        for _ in range(26):
            yield chunk
        yield b'"}'

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test") as client:
            return await client.post("/webhooks", content=stream(), headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": "big"})

    response = asyncio.run(go())
    assert response.status_code == 413
    assert rows(engine) == []


@sqlite_only
def test_a_lying_content_length_does_not_get_past_the_limit(app, engine):
    body = b'{"zen": "' + b"a" * (MAX_BODY + 1) + b'"}'

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://devex.test") as client:
            request = client.build_request("POST", "/webhooks", content=body, headers=headers_for(body))
            request.headers["Content-Length"] = "10"
            return await client.send(request)

    assert asyncio.run(go()).status_code == 413
    assert rows(engine) == []


@sqlite_only
def test_exactly_25_mib_is_not_refused_for_its_size(app, engine):
    body = b'{"zen": "' + b"a" * (MAX_BODY - 11) + b'"}'
    assert len(body) == MAX_BODY
    response = post(app, body, headers_for(body, event="watch"))
    assert response.status_code == 200 and response.json() == {"ignored": True}


# ------------------------------------------------------------------ events the app does not want


@pytest.mark.parametrize(
    "event,action",
    [
        ("watch", "started"),  # an event the app never subscribed to
        ("issues", "pinned"),  # a known event, an action no handler takes
        ("issues", "assigned"),
        ("issue_comment", "deleted"),
        ("issue_comment", "edited"),  # only new comments are commands
        ("pull_request", "labeled"),
        ("made_up_event", "created"),
    ],
)
@sqlite_only
def test_unknown_events_and_actions_are_acknowledged_and_not_stored(app, engine, event, action):
    source = {"watch": ("issues", "pinned"), "made_up_event": ("issue_comment", "created")}.get(event, (event, action))
    data = payload(*source)
    data["action"] = action
    body = json.dumps(data).encode()
    response = post(app, body, headers_for(body, event=event))
    assert response.status_code == 200 and response.json() == {"ignored": True}
    assert rows(engine) == []


@sqlite_only
def test_comments_of_bots_and_without_commands_are_dropped_at_intake(app, engine, sim):
    _, human_chat = sim.human_comment(REPO, sim.open_issue(REPO, "t", "b", "pm-alice")["number"], "pm-alice", "Looks good to me")
    _, bot_reply = sim.human_comment(REPO, 1, "devex-bot[bot]", "/bid 10")
    _, other_bot = sim.human_comment(REPO, 1, "dependabot[bot]", "/register")
    for data in (human_chat, bot_reply, other_bot):
        body = json.dumps(data).encode()
        assert post(app, body, headers_for(body)).json() == {"ignored": True}
    assert rows(engine) == []


@sqlite_only
def test_a_delivery_without_installation_is_acknowledged_and_not_stored(app, engine):
    """A GitHub App acts only through an installation: without one there is nothing to do."""
    data = payload("issue_comment", "created")
    assert "installation" not in data
    data["comment"]["body"] = "/register"
    body = json.dumps(data).encode()
    response = post(app, body, headers_for(body))
    assert response.status_code == 200 and response.json() == {"ignored": True}
    for broken in (None, "77", {"id": "77"}, {"node_id": "x"}):
        data["installation"] = broken
        body = json.dumps(data).encode()
        assert post(app, body, headers_for(body)).status_code == 200
    assert rows(engine) == []


def test_ping_needs_no_installation(app, engine):
    body = json.dumps(payload("ping")).encode()
    response = post(app, body, headers_for(body, event="ping"))
    assert response.status_code == 202
    [row] = rows(engine)
    assert row["event"] == "ping" and row["status"] == "pending"


@pytest.mark.parametrize(
    "field,value",
    [
        ("comment", "a string"),
        ("comment", ["/register"]),
        ("issue", "a string"),
        ("issue", {"number": "1"}),
        ("repository", "octo-org/procurement"),
        ("repository", {"full_name": 7}),
        ("sender", "someone"),
        ("action", 7),
        ("installation", [77]),
    ],
)
@sqlite_only
def test_a_signed_delivery_of_the_wrong_shape_is_never_a_500(app, engine, field, value):
    data = json.loads(command_comment())
    data[field] = value
    body = json.dumps(data).encode()
    response = post(app, body, headers_for(body))
    assert response.status_code in (200, 202, 400), response.text


# ------------------------------------------------------------------ stored once


def test_a_stored_delivery_answers_2xx_and_is_pending(app, engine):
    body = command_comment()
    response = post(app, body, headers_for(body, delivery="d-1"))
    assert response.status_code == 202
    [row] = rows(engine)
    assert row["delivery_id"] == "d-1" and row["status"] == "pending" and row["payload"] == body.decode()
    assert row["installation_id"] == INSTALLATION and row["event"] == "issue_comment" and row["action"] == "created"


def test_a_replayed_delivery_changes_nothing(app, engine):
    body = command_comment("/register")
    assert post(app, body, headers_for(body, delivery="same")).status_code == 202
    before = rows(engine)
    # The same id again, even with another (validly signed) body.
    other = command_comment("/bid 10")
    for replay in (body, other):
        response = post(app, replay, headers_for(replay, delivery="same"))
        assert response.status_code == 200 and response.json()["duplicate"] is True
    assert rows(engine) == before


def test_concurrent_replays_store_one_row(app, engine):
    body = command_comment()

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test") as client:
            return await asyncio.gather(
                *(client.post("/webhooks", content=body, headers=headers_for(body, delivery="burst")) for _ in range(8))
            )

    statuses = sorted(r.status_code for r in asyncio.run(go()))
    assert statuses == [200] * 7 + [202]
    assert len(rows(engine)) == 1


def test_a_replay_after_processing_is_not_applied_again(harness, sim):
    sim.open_issue(REPO, "Speed up", OPEN_FORM, "pm-alice", labels=[])
    harness.act(sim.human_label(REPO, 1, "pm-alice", "opportunity"))
    harness.run()
    event, data = sim.human_comment(REPO, 1, "bidder-bob", "/register")
    assert harness.deliver(event, copy.deepcopy(data), delivery_id="reg-1").status_code == 202
    harness.run()
    replies = len(harness.bot_comments(1))
    assert harness.deliver(event, copy.deepcopy(data), delivery_id="reg-1").status_code == 200
    harness.run()
    assert len(harness.bot_comments(1)) == replies
    with harness.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE delivery_id = 'reg-1'")).scalar() == 1


# ------------------------------------------------------------------ the database


def test_a_database_that_cannot_store_gets_503_not_500(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema: every insert fails
    app = create_app(engine, SECRET.encode(), ROUTER)
    body = command_comment()
    response = post(app, body, headers_for(body))
    assert response.status_code == 503


@sqlite_only
def test_healthz(app):
    response = get(app, "/healthz")
    assert response.status_code == 200 and response.json() == {"database": "ok"}


def test_healthz_when_the_database_does_not_answer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'devex.db'}")
    response = get(create_app(engine, SECRET.encode(), ROUTER), "/healthz")
    assert response.status_code == 503 and response.json() == {"database": "unreachable"}


@sqlite_only
def test_only_post_on_webhooks(app, engine):
    assert get(app, "/webhooks").status_code == 405
    assert rows(engine) == []
