"""An installation's calls once githubkit holds its token go straight to httpcore's pool
(`bot.github.transport.DirectCalls`, issue 18): the same request as githubkit's, the same
answer, and the same verdict on every failure, so nothing the sender and the worker do
with GitHub's answers changes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from bot.github.client import GitHubApp, GitHubError
from bot.github.transport import CookielessGitHub, DirectCalls
from tests.conftest import APP_ID, INSTALLATION, REPO

API = "https://api.github.test"
ISSUE = f"/repos/{REPO}/issues/1"


class Paths:
    """Counts the calls each path made: githubkit's client, or DirectCalls."""

    def __init__(self, monkeypatch):
        self.githubkit = 0
        self.direct = 0
        real_request, real_send = CookielessGitHub.request, DirectCalls.send

        def request(client, *args, **kwargs):
            self.githubkit += 1
            return real_request(client, *args, **kwargs)

        def send(calls, *args, **kwargs):
            self.direct += 1
            return real_send(calls, *args, **kwargs)

        monkeypatch.setattr(CookielessGitHub, "request", request)
        monkeypatch.setattr(DirectCalls, "send", send)


@pytest.fixture
def github(sim, app_key, monkeypatch):
    """The app, its calls answered by the simulator, and its requests as GitHub saw them."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if getattr(sim, "unreachable", 0) and not request.url.path.endswith("/access_tokens"):
            sim.unreachable -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return sim.respx_handler(request)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=handler)
        paths = Paths(monkeypatch)
        app = GitHubApp(APP_ID, app_key, API)
        sim.open_issue(REPO, "An issue", "body", "pm-alice")
        yield app, paths, seen


def _verdict(error: GitHubError) -> tuple:
    after = None if error.retry_after is None else round(error.retry_after / 5)
    return (str(error), error.status, error.retryable, error.authentication, after)


def test_after_the_first_call_an_installations_calls_skip_githubkit_and_send_what_it_sent(github, sim):
    app, paths, seen = github
    comment = {"body": "Proposal received: café, 5 000,00 $ — <!-- devex-bot:write:1 -->"}
    first = app.call(INSTALLATION, "POST", f"{ISSUE}/comments", json=comment)
    second = app.call(INSTALLATION, "POST", f"{ISSUE}/comments", json=comment)
    listed = app.call(INSTALLATION, "GET", f"{ISSUE}/comments", params={"per_page": 100, "page": 1})
    query = {"state": "all", "draft": False, "pulls": True, "labels": None}
    app.call(INSTALLATION, "GET", f"/repos/{REPO}/issues", params=query)

    assert (paths.githubkit, paths.direct) == (1, 3)
    assert sim.count_requests("POST", r"/access_tokens$") == 1
    posts = [r for r in seen if r.method == "POST" and r.url.path.endswith("/comments")]
    assert len(posts) == 2
    for name in ("user-agent", "accept", "authorization", "content-type", "host"):
        assert posts[0].headers.get(name) == posts[1].headers.get(name), name
    assert posts[1].headers["authorization"].startswith("token ")
    assert json.loads(posts[0].content) == json.loads(posts[1].content) == comment
    listing, issues = [r for r in seen if r.method == "GET"][-2:]
    assert dict(listing.url.params) == {"per_page": "100", "page": "1"}
    # a query's values written as httpx writes them
    assert issues.url.query == str(httpx.QueryParams(query)).encode() == b"state=all&draft=false&pulls=true&labels="

    assert (first.status, second.status, listed.status) == (201, 201, 200)
    assert second.data["body"] == comment["body"] and second.data["id"] != first.data["id"]
    assert [c["id"] for c in listed.data] == [first.data["id"], second.data["id"]]
    assert set(first.headers) <= set(second.headers) | {"content-encoding"}
    assert all(name == name.lower() for name in second.headers)


FAULTS = {
    "500": lambda sim: sim.fail_next("GET", r"/issues/1$", 500),
    "502": lambda sim: sim.fail_next("GET", r"/issues/1$", 502),
    "404": lambda sim: sim.fail_next("GET", r"/issues/1$", 404),
    "410": lambda sim: sim.fail_next("GET", r"/issues/1$", 410),
    "422": lambda sim: sim.fail_next("GET", r"/issues/1$", 422),
    "secondary rate limit": lambda sim: sim.secondary_rate_limit_next("GET", r"/issues/1$", retry_after=30),
    "secondary rate limit, no headers": lambda sim: sim.fail_next(
        "GET", r"/issues/1$", 403, body={"message": "You have exceeded a secondary rate limit."}
    ),
    "primary rate limit": lambda sim: sim.primary_rate_limit_next("GET", r"/issues/1$", reset_in=120),
    "403 with nothing left": lambda sim: sim.fail_next("GET", r"/issues/1$", 403, headers={"x-ratelimit-remaining": "0"}),
    "403 forbidden": lambda sim: sim.fail_next("GET", r"/issues/1$", 403),
    "timeout": lambda sim: sim.timeout_next("GET", r"/issues/1$"),
    "connection refused": lambda sim: setattr(sim, "unreachable", 1),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failure_gets_the_same_verdict_on_either_path(github, sim, fault):
    """The first call goes through githubkit (it asks for the token), a later one
    straight to the pool: the same fault, the same GitHubError."""
    app, paths, _ = github
    verdicts = []
    for expected_path in ("githubkit", "direct"):
        FAULTS[fault](sim)
        before = (paths.githubkit, paths.direct)
        with pytest.raises(GitHubError) as raised:
            app.call(INSTALLATION, "GET", ISSUE)
        verdicts.append(_verdict(raised.value))
        took = "githubkit" if paths.githubkit > before[0] else "direct"
        assert took == expected_path
    assert verdicts[0] == verdicts[1]
    assert app.call(INSTALLATION, "GET", ISSUE).status == 200  # and the next call works


def test_a_token_github_revoked_is_forgotten_and_the_next_call_gets_a_new_one(github, sim):
    app, paths, _ = github
    app.call(INSTALLATION, "GET", ISSUE)
    sim.fail_next("GET", r"/issues/1$", 401, body={"message": "Bad credentials"})
    with pytest.raises(GitHubError) as raised:
        app.call(INSTALLATION, "GET", ISSUE)
    assert (raised.value.status, raised.value.retryable, raised.value.authentication) == (401, True, False)
    assert paths.direct == 1
    assert app.call(INSTALLATION, "GET", ISSUE).status == 200  # githubkit again: a new token
    assert sim.count_requests("POST", r"/access_tokens$") == 2
    assert app.call(INSTALLATION, "GET", ISSUE).status == 200
    assert (paths.githubkit, paths.direct) == (2, 2)


def test_a_redirect_is_followed_by_githubkit_and_acts_once(sim, app_key, monkeypatch):
    """A renamed repository answers its old path with a redirect: GitHub acted on nothing,
    and githubkit's path follows it (as it always did)."""
    sim.open_issue(REPO, "An issue", "body", "pm-alice")
    old = "/repos/octo-org/old-name/issues/1/comments"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == old:
            return httpx.Response(307, headers={"location": f"{API}{ISSUE}/comments"})
        return sim.respx_handler(request)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=handler)
        paths = Paths(monkeypatch)
        app = GitHubApp(APP_ID, app_key, API)
        app.call(INSTALLATION, "GET", f"/repos/{REPO}")
        answer = app.call(INSTALLATION, "POST", old, json={"body": "hello"})
    assert answer.status == 201 and answer.data["body"] == "hello"
    assert [c["body"] for c in sim.issue_comments(REPO, 1)] == ["hello"]
    assert (paths.githubkit, paths.direct) == (2, 1)


def test_with_a_proxy_in_the_environment_every_call_keeps_githubkits_path(sim, app_key, monkeypatch):
    """httpx sends githubkit's calls through a proxy the environment names; the direct
    path does not know proxies, so it is not used there."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.github.test")  # respx answers before any proxy anyway
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        paths = Paths(monkeypatch)
        app = GitHubApp(APP_ID, app_key, API)
        for _ in range(3):
            assert app.call(INSTALLATION, "GET", f"/repos/{REPO}").status == 200
    assert (paths.githubkit, paths.direct) == (3, 0)
