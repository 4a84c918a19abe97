"""GitHub out (issue 2.4) and GitHub faults (issue 6.4): tokens, GITHUB_API_URL, pacing,
retries that lose nothing and post nothing twice, refusals that do not block the queue."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import githubkit.cache.mem_cache
import pytest
import respx
from sqlmodel import Session, select

import demo.github.auth
from bot.github import requests as gw
from bot.github.client import GitHubError
from bot.runtime import build, github_for
from bot.settings import Settings
from storage import outbox
from storage.tables import GitHubWrite, Installation, Opportunity, Registration, utcnow
from tests.conftest import APP_ID, INSTALLATION, REPO, Harness
from tests.spine import deliveries, open_opportunity, sqlite_only, writes

GHE = "https://ghe.test/api/v3"
REPLY = r"/repos/octo-org/procurement/issues/\d+/comments$"


def replies_to(harness, number: int, login: str) -> list[str]:
    return [b for b in harness.bot_comments(number) if f"@{login}" in b and "Registered" in b]


def registered(engine, login: str) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Registration).where(Registration.login == login)).all())


def shift_wall_clock(monkeypatch, delta: timedelta) -> None:
    """Moves the wall clock that githubkit's token cache and the simulator's token expiry read."""
    real = datetime

    class Shifted(datetime):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + delta

    monkeypatch.setattr(githubkit.cache.mem_cache, "datetime", Shifted)
    monkeypatch.setattr(demo.github.auth, "datetime", Shifted)


# ------------------------------------------------------------------ tokens


def test_one_token_request_per_installation_not_per_delivery(harness, sim):
    number = open_opportunity(harness)
    for i in range(8):
        harness.comment(number, f"bidder-{i}", "/register")
    assert len(harness.bot_comments(number)) >= 9
    assert sim.token_requests == {INSTALLATION: 1}


@sqlite_only
def test_a_new_token_only_when_the_hour_is_nearly_up(harness, sim, monkeypatch):
    number = open_opportunity(harness)
    assert sim.token_requests == {INSTALLATION: 1}
    shift_wall_clock(monkeypatch, timedelta(minutes=55))
    harness.comment(number, "bidder-bob", "/register")
    assert sim.token_requests == {INSTALLATION: 1}
    shift_wall_clock(monkeypatch, timedelta(minutes=61))
    harness.comment(number, "bidder-carol", "/register")
    assert sim.token_requests == {INSTALLATION: 2}
    assert len(replies_to(harness, number, "bidder-carol")) == 1


@sqlite_only
def test_tokens_are_per_installation(harness, sim):
    sim.add_repo("other-org/widgets")
    sim.add_installation(78, "other-org", ["other-org/widgets"])
    for _ in range(3):
        harness.github.call(78, "GET", "/repos/other-org/widgets")
        harness.github.call(INSTALLATION, "GET", f"/repos/{REPO}")
    assert sim.token_requests == {INSTALLATION: 1, 78: 1}


# ------------------------------------------------------------------ GITHUB_API_URL


def test_github_api_url_is_read_from_the_environment(monkeypatch, app_key):
    monkeypatch.setenv("GITHUB_API_URL", GHE)
    monkeypatch.setenv("GITHUB_APP_ID", APP_ID)
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", app_key)
    settings = Settings()
    assert settings.github_api_url == GHE
    assert github_for(settings).base_url == GHE


def test_github_api_url_is_honoured_for_every_call(engine, sim, app_key, clock):
    with respx.mock(assert_all_called=False) as router:
        ghe = router.route(host="ghe.test").mock(side_effect=sim.respx_handler)
        harness = Harness(engine, sim, app_key, clock, GITHUB_API_URL=GHE)
        # The runtime as production builds it: its GitHub client from the settings alone.
        harness.runtime = build(harness.settings, engine=engine, clock=clock)
        harness.app = harness.runtime.app()
        number = open_opportunity(harness)
        harness.comment(number, "bidder-bob", "/register")
        harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
        urls = [str(call.request.url) for call in router.calls]
    assert ghe.call_count == len(urls) > 5
    assert all(url.startswith(GHE + "/") for url in urls), [u for u in urls if not u.startswith(GHE)]
    assert any("/api/v3/app/installations/77/access_tokens" in url for url in urls)
    assert len(replies_to(harness, number, "bidder-bob")) == 1


# ------------------------------------------------------------------ pacing


def test_the_default_write_interval_is_one_second(monkeypatch, engine):
    monkeypatch.delenv("DEVEX_WRITE_INTERVAL", raising=False)
    interval = Settings().write_interval
    assert interval == 1.0
    now = utcnow()
    with Session(engine) as session:
        session.add(Installation(id=INSTALLATION, account="octo-org", last_write_at=now - timedelta(seconds=0.5)))
        outbox.enqueue(session, gw.comment(INSTALLATION, REPO, 1, "hello"), now=now - timedelta(seconds=5))
        session.commit()
    with Session(engine) as session:
        assert outbox.claim_writes(session, interval, now, 1) is None
        session.rollback()
    with Session(engine) as session:
        claimed = outbox.claim_writes(session, interval, now + timedelta(seconds=0.5), 1)
        assert claimed is not None and claimed[0].id == INSTALLATION
        session.rollback()


def test_writes_of_one_installation_are_spaced_and_others_are_not_held_up(make_harness, sim, engine):
    interval = 0.2
    harness = make_harness(clock=utcnow, DEVEX_WRITE_INTERVAL=interval)
    sim.add_repo("other-org/widgets")
    sim.add_installation(78, "other-org", ["other-org/widgets"])
    first = sim.open_issue(REPO, "One", "body", "pm-alice")["number"]
    second = sim.open_issue("other-org/widgets", "Two", "body", "someone")["number"]
    sent: list[tuple[int, float]] = []
    call = harness.runtime.sender.call

    def timed(installation_id, *args, **kwargs):
        if args[0] != "GET":
            sent.append((installation_id, time.monotonic()))
        return call(installation_id, *args, **kwargs)

    harness.runtime.sender.call = timed
    with Session(engine) as session:
        for i in range(5):
            outbox.enqueue(session, gw.comment(INSTALLATION, REPO, first, f"reply {i}"))
            outbox.enqueue(session, gw.comment(78, "other-org/widgets", second, f"reply {i}"))
        session.commit()
    harness.runtime.sender.drain(wait=True, timeout=10)
    assert len(sent) == 10
    for installation in (INSTALLATION, 78):
        times = [t for i, t in sent if i == installation]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Spaced from one claim to the next (exact, below); the calls themselves
        # follow within the time it takes to prepare each.
        assert min(gaps) >= interval - 0.05, gaps
    with Session(engine) as session:
        for installation in (INSTALLATION, 78):
            stamps = [w.sent_at for w in session.exec(select(GitHubWrite).where(GitHubWrite.installation_id == installation).order_by(GitHubWrite.id))]
            assert min((b - a).total_seconds() for a, b in zip(stamps, stamps[1:])) >= interval
    # The other installation's writes go out between them: one installation's pacing holds up no other.
    order = [i for i, _ in sent]
    assert order.index(78) < len(order) - order[::-1].index(INSTALLATION) - 1
    assert order.count(78) == order.count(INSTALLATION) == 5
    assert [c["body"].split("\n")[0] for c in sim.issue_comments(REPO, first)] == [f"reply {i}" for i in range(5)]


# ------------------------------------------------------------------ retries


FAULTS = {
    "500": lambda sim: sim.fail_next("POST", REPLY, 500, times=3),
    "502": lambda sim: sim.fail_next("POST", REPLY, 502, times=3),
    "503": lambda sim: sim.fail_next("POST", REPLY, 503, times=3),
    "timeout": lambda sim: sim.timeout_next("POST", REPLY, times=3),
}


@sqlite_only
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_reply_github_refused_three_times_arrives_once_it_recovers_exactly_once(harness, sim, engine, fault):
    number = open_opportunity(harness)
    posts = sim.count_requests("POST", REPLY)
    FAULTS[fault](sim)
    harness.comment(number, "bidder-bob", "/register")
    assert len(replies_to(harness, number, "bidder-bob")) == 1
    assert sim.count_requests("POST", REPLY) - posts == 4
    assert registered(engine, "bidder-bob") == 1
    reply = [w for w in writes(engine) if w["path"] and w["path"].endswith(f"/issues/{number}/comments")][-1]
    assert reply["status"] == "sent" and reply["attempts"] == 4


def test_a_long_outage_keeps_the_write_and_backs_off(make_harness, sim, engine, clock):
    harness = make_harness(DEVEX_RETRY_BASE=2)
    number = open_opportunity(harness)
    sim.fail_next("POST", REPLY, 502, times=3)
    harness.comment(number, "bidder-bob", "/register")
    waits = []
    for _ in range(3):
        [pending] = [w for w in writes(engine) if w["status"] == "pending"]
        assert replies_to(harness, number, "bidder-bob") == []
        with Session(engine) as session:
            row = session.get(GitHubWrite, pending["id"])
            waits.append((row.next_attempt_at - clock()).total_seconds())
        clock.advance(seconds=waits[-1])
        harness.run()
    assert waits == [2, 4, 8]
    assert len(replies_to(harness, number, "bidder-bob")) == 1


@sqlite_only
def test_a_secondary_rate_limit_waits_for_retry_after(harness, sim, engine, clock):
    number = open_opportunity(harness)
    sim.secondary_rate_limit_next("POST", REPLY, retry_after=30)
    harness.comment(number, "bidder-bob", "/register")
    assert replies_to(harness, number, "bidder-bob") == []
    [pending] = [w for w in writes(engine) if w["status"] == "pending"]
    assert "rate limited (403)" in pending["last_error"]
    clock.advance(seconds=29)
    harness.run()
    assert replies_to(harness, number, "bidder-bob") == []
    clock.advance(seconds=2)
    harness.run()
    assert len(replies_to(harness, number, "bidder-bob")) == 1


@sqlite_only
def test_a_secondary_rate_limit_without_headers_is_retried_not_refused(harness, sim, engine, clock):
    """GitHub: a 403 whose message says "secondary rate limit", with neither retry-after nor
    x-ratelimit-remaining: 0, means wait at least a minute and try again."""
    number = open_opportunity(harness)
    sim.fail_next(
        "POST", REPLY, 403,
        body={"message": "You have exceeded a secondary rate limit and have been temporarily blocked from content creation.",
              "documentation_url": "https://docs.github.com/rest"},
    )
    harness.comment(number, "bidder-bob", "/register")
    assert [w["status"] for w in writes(engine) if w["status"] != "sent"] == ["pending"]
    clock.advance(seconds=61)
    harness.run()
    assert len(replies_to(harness, number, "bidder-bob")) == 1


@sqlite_only
def test_a_429_waits_until_x_ratelimit_reset(harness, sim, engine, clock):
    number = open_opportunity(harness)
    sim.primary_rate_limit_next("POST", REPLY, reset_in=120)
    harness.comment(number, "bidder-bob", "/register")
    assert replies_to(harness, number, "bidder-bob") == []
    [pending] = [w for w in writes(engine) if w["status"] == "pending"]
    with Session(engine) as session:
        wait = (session.get(GitHubWrite, pending["id"]).next_attempt_at - clock()).total_seconds()
    assert 110 <= wait <= 121
    clock.advance(seconds=60)
    harness.run()
    assert replies_to(harness, number, "bidder-bob") == []
    clock.advance(seconds=61)
    harness.run()
    assert len(replies_to(harness, number, "bidder-bob")) == 1


def test_a_failing_token_request_loses_nothing(harness, sim, engine):
    number = open_opportunity(harness)
    sim.revoke_tokens()
    sim.fail_next("POST", r"/app/installations/\d+/access_tokens", 500, times=3)
    harness.comment(number, "bidder-bob", "/register")
    assert len(replies_to(harness, number, "bidder-bob")) == 1
    assert registered(engine, "bidder-bob") == 1
    assert {r["status"] for r in writes(engine)} == {"sent"}


def test_an_outage_longer_than_a_deliverys_attempts_parks_nothing(harness, sim, engine):
    """GitHub down for longer than `max_delivery_attempts` retries: the delivery waits for
    it (retried at the capped backoff) instead of being parked as failed for an operator."""
    number = open_opportunity(harness)
    sim.revoke_tokens()
    sim.fail_next("POST", r"/app/installations/\d+/access_tokens", 502, times=harness.settings.max_delivery_attempts + 4)
    harness.comment(number, "bidder-bob", "/register")
    assert len(replies_to(harness, number, "bidder-bob")) == 1
    assert registered(engine, "bidder-bob") == 1
    assert "failed" not in {r["status"] for r in deliveries(engine)}


@sqlite_only
def test_a_revoked_token_before_a_write_gets_a_new_token(harness, sim, engine):
    number = open_opportunity(harness)
    harness.act(sim.human_comment(REPO, number, "bidder-bob", "/register"))
    harness.runtime.worker.drain()
    sim.revoke_tokens()
    harness.run()
    assert len(replies_to(harness, number, "bidder-bob")) == 1
    assert sim.token_requests[INSTALLATION] == 2


# ------------------------------------------------------------------ answers lost after GitHub acted


@pytest.mark.parametrize("status", [None, 502])
def test_a_comment_github_made_before_the_answer_was_lost_is_not_posted_twice(harness, sim, engine, status):
    number = open_opportunity(harness)
    posts = sim.count_requests("POST", REPLY)
    sim.lose_answer_next("POST", REPLY, status=status)
    harness.comment(number, "bidder-bob", "/register")
    assert len(replies_to(harness, number, "bidder-bob")) == 1
    assert sim.count_requests("POST", REPLY) - posts == 1
    assert {r["status"] for r in writes(engine)} == {"sent"}


@sqlite_only
def test_a_lost_answer_on_a_busy_issue_is_found_past_the_first_page(harness, sim, engine):
    number = open_opportunity(harness)
    for i in range(150):
        sim.add_comment(REPO, number, f"comment {i}", f"visitor-{i}")
    sim.lose_answer_next("POST", REPLY)
    harness.comment(number, "bidder-bob", "/register")
    assert len(replies_to(harness, number, "bidder-bob")) == 1


@sqlite_only
def test_a_summary_whose_answer_was_lost_is_adopted_then_edited_not_posted_again(harness, sim, engine):
    sim.lose_answer_next("POST", REPLY)
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
    summaries = [b for b in harness.bot_comments(number) if "## Opportunity:" in b]
    assert len(summaries) == 1
    assert "**1** proposal received" in summaries[0]


def test_an_issue_github_made_before_the_answer_was_lost_is_not_created_twice(harness, sim, engine, clock):
    """The evaluation issue at the deadline: created, answer lost, adopted on retry."""
    number = open_opportunity(harness)
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
    sim.lose_answer_next("POST", r"/repos/octo-org/procurement/issues$")
    clock.advance(days=40)
    harness.run()
    made = [n for n, issue in sim.issues[REPO].items() if n != number]
    assert len(made) == 1
    with Session(engine) as session:
        assert session.exec(select(Opportunity)).one().evaluation_issue_number == made[0]
    assert {w["status"] for w in writes(engine)} == {"sent"}


@sqlite_only
def test_the_lost_answer_fault_applies_the_request(harness, sim):
    """The simulator's fault itself: the comment exists though the client saw a timeout."""
    issue = sim.open_issue(REPO, "t", "b", "pm-alice")
    sim.lose_answer_next("POST", REPLY)
    with pytest.raises(GitHubError) as lost:
        harness.github.call(INSTALLATION, "POST", f"/repos/{REPO}/issues/{issue['number']}/comments", json={"body": "made"})
    assert lost.value.retryable and lost.value.status is None
    assert [c["body"] for c in sim.issue_comments(REPO, issue["number"])] == ["made"]


# ------------------------------------------------------------------ refused for good


@sqlite_only
@pytest.mark.parametrize("status", [404, 422, 403])
def test_a_write_github_refuses_for_good_is_kept_as_refused_and_the_queue_moves_on(harness, sim, engine, status):
    number = open_opportunity(harness)
    sim.fail_next("POST", REPLY, status)  # 403 without rate-limit signs: "Resource not accessible by integration"
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-carol", "/register")
    assert replies_to(harness, number, "bidder-bob") == []
    assert len(replies_to(harness, number, "bidder-carol")) == 1
    refused = [w for w in writes(engine) if w["status"] == "refused"]
    assert len(refused) == 1 and f"GitHub answered {status}" in refused[0]["last_error"]
    assert registered(engine, "bidder-bob") == 1  # the state it reported is kept


@sqlite_only
def test_a_delete_of_a_comment_already_gone_counts_as_done(harness, sim, engine):
    number = open_opportunity(harness)
    sim.fail_next("DELETE", r"/issues/comments/\d+$", 404)
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9000\nMy approach")
    assert {w["status"] for w in writes(engine)} == {"sent"}
    assert any("Proposal received" in b for b in harness.bot_comments(number))


@sqlite_only
def test_github_errors_are_classified(harness, sim):
    sim.open_issue(REPO, "t", "b", "pm-alice")
    cases = [(500, True), (502, True), (503, True), (504, True), (404, False), (422, False), (401, True), (410, False)]
    for status, retryable in cases:
        sim.fail_next("GET", r"/issues/1$", status)
        with pytest.raises(GitHubError) as error:
            harness.github.call(INSTALLATION, "GET", f"/repos/{REPO}/issues/1")
        assert (error.value.status, error.value.retryable) == (status, retryable)


def test_two_threads_making_an_installations_first_calls_at_once_ask_for_one_token(sim, app_key):
    """In one process the worker (reading) and the sender (writing) may make an
    installation's first calls at the same moment: GitHub is asked for one token.
    Once it is there, a slow call holds up no other."""
    import threading

    from bot.github.client import GitHubApp

    slow_call_arrived = threading.Event()

    def github(request):
        if request.url.path.endswith("/access_tokens"):
            time.sleep(0.2)  # GitHub takes a while: the other threads' calls arrive meanwhile
        if request.url.path.endswith("/issues/1"):
            slow_call_arrived.set()
            time.sleep(1.0)
        return sim.respx_handler(request)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=github)
        app = GitHubApp(APP_ID, app_key, "https://api.github.test")
        start = threading.Barrier(4)
        answers, errors = [], []

        def call(path: str) -> None:
            try:
                answers.append((path, app.call(INSTALLATION, "GET", path).status))
            except Exception as exc:  # noqa: BLE001 - a failed call is a failure of the test
                errors.append(exc)

        def first() -> None:
            start.wait()
            call(f"/repos/{REPO}")

        threads = [threading.Thread(target=first) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == [] and len(answers) == 4
        assert sim.count_requests("POST", r"/access_tokens$") == 1

        sim.open_issue(REPO, "An issue", "body", "pm-alice")
        slow = threading.Thread(target=call, args=(f"/repos/{REPO}/issues/1",))
        slow.start()
        assert slow_call_arrived.wait(10)
        call(f"/repos/{REPO}")  # while the slow one is still waiting for GitHub
        assert slow.is_alive(), "a call waited for another installation call to finish"
        slow.join(timeout=30)
    assert errors == [] and [status for _, status in answers] == [200] * 6
    assert sim.count_requests("POST", r"/access_tokens$") == 1


def test_an_asynchronous_call_is_authenticated_as_the_installation_too(sim, app_key):
    """The app calls GitHub synchronously; githubkit's asynchronous API on the same client
    still gets the installation's token (the one-token-request wrapper passes it through)."""
    import asyncio

    from bot.github.client import GitHubApp

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        app = GitHubApp(APP_ID, app_key, "https://api.github.test")
        response = asyncio.run(app._client(INSTALLATION).arequest("GET", f"repos/{REPO}"))
    assert response.status_code == 200 and response.parsed_data["full_name"] == REPO
    assert sim.count_requests("POST", r"/access_tokens$") == 1


def test_a_cookie_github_sets_is_never_sent_back_and_calls_go_on_after_a_new_token(sim, app_key):
    """The app keeps one httpx client a thread for each installation (githubkit's context,
    entered once), so nothing of one call may leak into the next: a cookie GitHub sets is
    not kept or sent back. After a 401 the installation gets a new client and a new token,
    and the same thread's calls go on with it; another thread's calls work as well."""
    import threading

    from bot.github.client import GitHubApp

    sent_cookies: list[str] = []
    expire_once = [True]

    def github(request):
        sent_cookies.append(request.headers.get("cookie", ""))
        if request.url.path.endswith("/issues/1") and expire_once:
            expire_once.clear()
            return respx.MockResponse(401, json={"message": "Bad credentials"})
        response = sim.respx_handler(request)
        response.headers["set-cookie"] = "_gh_sess=secret; Path=/; Secure; HttpOnly"
        return response

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=github)
        app = GitHubApp(APP_ID, app_key, "https://api.github.test")
        sim.open_issue(REPO, "An issue", "body", "pm-alice")
        assert app.call(INSTALLATION, "GET", f"/repos/{REPO}").status == 200
        assert app.call(INSTALLATION, "GET", f"/repos/{REPO}").status == 200
        with pytest.raises(GitHubError) as error:
            app.call(INSTALLATION, "GET", f"/repos/{REPO}/issues/1")
        assert error.value.status == 401
        assert app.call(INSTALLATION, "GET", f"/repos/{REPO}/issues/1").status == 200  # a new token, the same thread
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(app.call(INSTALLATION, "GET", f"/repos/{REPO}").status))
        thread.start()
        thread.join(timeout=30)
    assert other == [200]
    assert sent_cookies and all(cookie == "" for cookie in sent_cookies)
    assert sim.count_requests("POST", r"/access_tokens$") == 2


def test_a_create_is_noted_as_possibly_done_on_disk_before_github_is_asked(sim, engine, app_key, clock):
    """Before GitHub is asked to create a comment, the write's note that it may be done is
    committed (on PostgreSQL in the claim's own transaction, made to wait for the disk; on
    SQLite in one of its own): seen from another connection the moment GitHub is asked."""
    import json as _json
    import re

    from storage.db import make_engine

    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    seen: list[tuple[int, str]] = []

    def github(request):
        if request.method == "POST" and request.url.path.endswith("/comments"):
            found = re.search(r"<!-- devex-bot:write:(\d+) -->", _json.loads(request.content)["body"])
            assert found, "a create carries its write's marker"
            with other.connect() as connection:
                note = connection.exec_driver_sql("SELECT last_error FROM github_writes WHERE id = %d" % int(found.group(1))).scalar()
            seen.append((int(found.group(1)), note or ""))
        return sim.respx_handler(request)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=github)
        harness = Harness(engine, sim, app_key, clock)
        number = open_opportunity(harness)
        harness.comment(number, "bidder-bob", "/register")
    other.dispose()
    assert seen and all(note.startswith("ambiguous: GitHub was asked to create this") for _, note in seen)
    assert {r["status"] for r in writes(engine)} == {"sent"}
    assert all(not (r["last_error"] or "").startswith("ambiguous") for r in writes(engine))  # cleared once answered


def test_a_call_in_a_context_copied_from_a_thread_already_inside_the_client_works(sim, app_key):
    """A thread that runs a call in a context copied from another thread's (as an async
    framework's worker threads do) finds githubkit's client already entered there: the
    call goes through, on that client, rather than failing on entering it twice."""
    import contextvars
    import threading

    from bot.github.client import GitHubApp

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        app = GitHubApp(APP_ID, app_key, "https://api.github.test")
        assert app.call(INSTALLATION, "GET", f"/repos/{REPO}").status == 200  # this thread is inside it now
        copied = contextvars.copy_context()
        answers: list = []

        def call() -> None:
            try:
                answers.append(copied.run(app.call, INSTALLATION, "GET", f"/repos/{REPO}").status)
            except Exception as exc:  # noqa: BLE001 - a failed call is a failure of the test
                answers.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        thread.join(timeout=30)
    assert answers == [200]
