"""The simulated GitHub, driven by githubkit itself so that its answers parse."""

from __future__ import annotations

import asyncio
import base64
import threading
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
    SecondaryRateLimitExceeded,
)
from githubkit.webhooks import parse_obj

from demo.github import BOT_LOGIN, SimulatedGitHub

API = "https://api.github.test"
APP_ID = 4242
INSTALLATION_ID = 77
REPO = "acme/widgets"
OPPORTUNITY_BODY = "### Value\n\n9,500.00\n\n<!-- devex:marker -->\n### Problem\n\nSlow build"


@pytest.fixture(scope="module")
def app_key() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def sim(app_key) -> SimulatedGitHub:
    sim = SimulatedGitHub(app_public_key=app_key[1], app_id=APP_ID)
    sim.add_repo(REPO, files={".github/devex.yml": "label: opportunity\nvalue_cap: 9999.00\n"})
    sim.add_repo("acme/secret", private=True)
    sim.add_repo("other/elsewhere")
    sim.add_installation(INSTALLATION_ID, "acme", [REPO, "acme/secret"])
    sim.open_issue(REPO, "Speed up the build", OPPORTUNITY_BODY, "alice", labels=["opportunity"])
    return sim


def make_client(private_key: str, **config) -> GitHub:
    config.setdefault("base_url", API)
    return GitHub(
        AppInstallationAuthStrategy(APP_ID, private_key, INSTALLATION_ID),
        http_cache=False,
        auto_retry=False,
        cache_strategy=MemCacheStrategy(),
        **config,
    )


@pytest.fixture
def gh(sim, app_key, respx_mock) -> GitHub:
    respx_mock.route(host="api.github.test").mock(side_effect=sim.respx_handler)
    return make_client(app_key[0])


def events_of(sim: SimulatedGitHub, event: str, action: str) -> list[dict]:
    return [p for e, p in sim.events if e == event and p["action"] == action]


# ----------------------------------------------------------------------
# Comments


def test_create_comment_parses_and_records_a_bot_delivery(sim, gh):
    comment = gh.rest.issues.create_comment("acme", "widgets", 1, body="Hello @alice").parsed_data

    assert comment.body == "Hello @alice"
    assert comment.user.login == BOT_LOGIN and comment.user.type == "Bot"
    assert comment.html_url.endswith(f"/acme/widgets/issues/1#issuecomment-{comment.id}")
    assert sim.issue_comments(REPO, 1)[0]["id"] == comment.id

    [payload] = events_of(sim, "issue_comment", "created")
    assert payload["comment"]["id"] == comment.id
    assert payload["sender"]["login"] == BOT_LOGIN and payload["sender"]["type"] == "Bot"
    assert payload["installation"]["id"] == INSTALLATION_ID
    assert payload["repository"]["full_name"] == REPO
    assert payload["issue"]["number"] == 1
    parse_obj("issue_comment", payload)


def test_edit_then_delete_comment(sim, gh):
    comment = gh.rest.issues.create_comment("acme", "widgets", 1, body="first").parsed_data

    edited = gh.rest.issues.update_comment("acme", "widgets", comment.id, body="second").parsed_data
    assert edited.body == "second"
    assert gh.rest.issues.get_comment("acme", "widgets", comment.id).parsed_data.body == "second"
    [change] = events_of(sim, "issue_comment", "edited")
    assert change["changes"] == {"body": {"from": "first"}}

    assert gh.rest.issues.delete_comment("acme", "widgets", comment.id).status_code == 204
    with pytest.raises(RequestFailed) as missing:
        gh.rest.issues.get_comment("acme", "widgets", comment.id)
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["message"] == "Not Found"
    [deleted] = events_of(sim, "issue_comment", "deleted")
    assert deleted["comment"]["id"] == comment.id
    parse_obj("issue_comment", deleted)
    assert "first" not in sim.render_thread(REPO, 1)
    assert "second" not in sim.render_thread(REPO, 1)


def test_comments_paginate_with_link_headers(sim, gh):
    for n in range(5):
        sim.add_comment(REPO, 1, f"comment {n}", "bob")

    first = gh.rest.issues.list_comments("acme", "widgets", 1, per_page=2)
    assert [c.body for c in first.parsed_data] == ["comment 0", "comment 1"]
    assert 'rel="next"' in first.headers["link"]

    everything = list(
        gh.rest.paginate(gh.rest.issues.list_comments, owner="acme", repo="widgets", issue_number=1, per_page=2)
    )
    assert [c.body for c in everything] == [f"comment {n}" for n in range(5)]


# ----------------------------------------------------------------------
# Issues, labels, assignees


def test_labels_add_replace_and_remove_url_encoded(sim, gh):
    labels = gh.rest.issues.add_labels("acme", "widgets", 1, labels=["devex:open"]).parsed_data
    assert [label.name for label in labels] == ["opportunity", "devex:open"]

    remaining = gh.rest.issues.remove_label("acme", "widgets", 1, "devex:open").parsed_data
    assert [label.name for label in remaining] == ["opportunity"]

    # An encoded name, as a client that quotes path segments sends it.
    gh.rest.issues.add_labels("acme", "widgets", 1, labels=["devex:open"])
    raw = httpx.delete(
        f"{API}/repos/acme/widgets/issues/1/labels/devex%3Aopen",
        headers={"Authorization": f"token {next(iter(sim.tokens))}"},
    )
    assert raw.status_code == 200 and [label["name"] for label in raw.json()] == ["opportunity"]

    with pytest.raises(RequestFailed) as absent:
        gh.rest.issues.remove_label("acme", "widgets", 1, "devex:open")
    assert absent.value.response.status_code == 404

    replaced = gh.rest.issues.set_labels("acme", "widgets", 1, labels=["opportunity", "devex:evaluation"]).parsed_data
    assert [label.name for label in replaced] == ["opportunity", "devex:evaluation"]

    actions = [(p["action"], p["label"]["name"]) for e, p in sim.events if e == "issues"]
    assert actions == [
        ("labeled", "devex:open"),
        ("unlabeled", "devex:open"),
        ("labeled", "devex:open"),
        ("unlabeled", "devex:open"),
        ("labeled", "devex:evaluation"),
    ]
    for event, payload in sim.events:
        parse_obj(event, payload)


def test_create_issue_then_assign_and_close(sim, gh):
    created = gh.rest.issues.create(
        "acme", "widgets", title="Award review: #1", body="Recommend @bob",
        labels=["devex:award-review"], assignees=["carol"],
    )
    assert created.status_code == 201
    issue = created.parsed_data
    assert issue.number == 2 and issue.user.login == BOT_LOGIN
    assert [label.name for label in issue.labels] == ["devex:award-review"]
    assert [e for e, _ in sim.events] == ["issues"] * 3
    assert [p["action"] for _, p in sim.events] == ["opened", "labeled", "assigned"]

    assigned = gh.rest.issues.add_assignees("acme", "widgets", 1, assignees=["bob"])
    assert assigned.status_code == 201
    assert [a.login for a in assigned.parsed_data.assignees] == ["bob"]
    assert events_of(sim, "issues", "assigned")[-1]["assignee"]["login"] == "bob"

    unassigned = gh.rest.issues.remove_assignees("acme", "widgets", 1, assignees=["bob"]).parsed_data
    assert unassigned.assignees == []

    closed = gh.rest.issues.update("acme", "widgets", 2, state="closed", body="Approved").parsed_data
    assert closed.state == "closed" and closed.body == "Approved"
    assert events_of(sim, "issues", "edited")[-1]["changes"] == {"body": {"from": "Recommend @bob"}}
    assert events_of(sim, "issues", "closed")[-1]["issue"]["state"] == "closed"
    assert gh.rest.issues.get("acme", "widgets", 2).parsed_data.state == "closed"
    for event, payload in sim.events:
        parse_obj(event, payload)


def test_create_issue_without_title_is_422(gh):
    with pytest.raises(RequestFailed) as invalid:
        gh.request("POST", "/repos/acme/widgets/issues", json={"body": "no title"})
    assert invalid.value.response.status_code == 422


# ----------------------------------------------------------------------
# Repository, contents, permissions, teams


def test_repository_and_content(sim, gh):
    repo = gh.rest.repos.get("acme", "widgets").parsed_data
    assert (repo.full_name, repo.private, repo.default_branch, repo.owner.login) == (REPO, False, "main", "acme")
    assert gh.rest.repos.get("acme", "secret").parsed_data.private is True

    content = gh.rest.repos.get_content("acme", "widgets", ".github/devex.yml").parsed_data
    assert content.type == "file" and content.encoding == "base64"
    assert base64.b64decode(content.content).decode() == "label: opportunity\nvalue_cap: 9999.00\n"

    assert gh.rest.repos.get_content("acme", "widgets", ".github/devex.yml", ref="main").status_code == 200
    for path, ref in ((".github/missing.yml", None), (".github/devex.yml", "no-such-branch")):
        with pytest.raises(RequestFailed) as missing:
            gh.rest.repos.get_content("acme", "widgets", path, ref=ref)
        assert missing.value.response.status_code == 404


def test_repositories_outside_the_installation_are_not_found(gh):
    with pytest.raises(RequestFailed) as hidden:
        gh.rest.repos.get("other", "elsewhere")
    assert hidden.value.response.status_code == 404


def test_collaborator_permission(sim, gh):
    sim.set_permission(REPO, "mona", "maintain")
    sim.set_permission(REPO, "tri", "triage")

    def level(repo: str, login: str) -> tuple[str, str]:
        data = gh.rest.repos.get_collaborator_permission_level("acme", repo, login).parsed_data
        assert data.user.login == login
        return data.permission, data.role_name

    # GitHub's legacy `permission` folds maintain into write and triage into read.
    assert level("widgets", "mona") == ("write", "maintain")
    assert level("widgets", "tri") == ("read", "triage")
    assert level("widgets", "stranger") == ("read", "read")
    assert level("secret", "stranger") == ("none", "none")
    assert level("widgets", "acme") == ("admin", "admin")


def test_team_membership(sim, gh):
    sim.add_team_member("acme", "contract-officers", "olivia")

    membership = gh.rest.teams.get_membership_for_user_in_org("acme", "contract-officers", "olivia").parsed_data
    assert membership.state == "active" and membership.role == "member"
    with pytest.raises(RequestFailed) as absent:
        gh.rest.teams.get_membership_for_user_in_org("acme", "contract-officers", "mallory")
    assert absent.value.response.status_code == 404


# ----------------------------------------------------------------------
# Authentication


def test_one_token_is_requested_and_reused(sim, gh, app_key):
    gh.rest.repos.get("acme", "widgets")
    gh.rest.issues.create_comment("acme", "widgets", 1, body="a")
    gh.rest.issues.get("acme", "widgets", 1)
    assert sim.token_requests == {INSTALLATION_ID: 1}
    assert sim.count_requests("POST", r"/access_tokens$") == 1

    # A client with its own cache asks for its own token. Keep the client in
    # a name: githubkit's namespaces hold it only weakly.
    other = make_client(app_key[0])
    other.rest.repos.get("acme", "widgets")
    assert sim.token_requests == {INSTALLATION_ID: 2}


def test_requests_without_a_valid_token_are_401(sim, gh):
    assert httpx.get(f"{API}/repos/acme/widgets").status_code == 401
    assert httpx.get(f"{API}/repos/acme/widgets", headers={"Authorization": "token ghs_forged"}).status_code == 401

    gh.rest.repos.get("acme", "widgets")
    sim.revoke_tokens()
    with pytest.raises(RequestFailed) as revoked:
        gh.rest.repos.get("acme", "widgets")
    assert revoked.value.response.status_code == 401
    assert revoked.value.response.json()["message"] == "Bad credentials"


def test_token_request_needs_a_jwt_signed_by_the_app(sim, respx_mock):
    respx_mock.route(host="api.github.test").mock(side_effect=sim.respx_handler)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    impostor = make_client(stranger)
    # A failed token request surfaces wrapped: RequestError(exc=RequestFailed).
    with pytest.raises(RequestError) as refused:
        impostor.rest.repos.get("acme", "widgets")
    assert isinstance(refused.value.exc, RequestFailed)
    assert refused.value.exc.response.status_code == 401
    assert sim.token_requests == {}
    assert httpx.post(f"{API}/app/installations/{INSTALLATION_ID}/access_tokens").status_code == 401


def test_enterprise_api_prefix(sim, app_key, respx_mock):
    respx_mock.route(host="ghe.example").mock(side_effect=sim.respx_handler)
    gh = make_client(app_key[0], base_url="https://ghe.example/api/v3/")

    comment = gh.rest.issues.create_comment("acme", "widgets", 1, body="from GHES").parsed_data
    assert comment.url.startswith("https://ghe.example/api/v3/repos/acme/widgets/issues/comments/")
    assert sim.requests[-1].path == "/repos/acme/widgets/issues/1/comments"


def test_unknown_route_is_404_json(sim, gh):
    gh.rest.repos.get("acme", "widgets")
    token = next(iter(sim.tokens))
    response = httpx.get(f"{API}/repos/acme/widgets/nonsense", headers={"Authorization": f"token {token}"})
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


# ----------------------------------------------------------------------
# Faults


def test_injected_failures_are_consumed_in_order(sim, gh):
    sim.fail_next("POST", r"/issues/\d+/comments$", 502)
    sim.fail_next("POST", r"/issues/\d+/comments$", 500)

    for status in (502, 500):
        with pytest.raises(RequestFailed) as failed:
            gh.rest.issues.create_comment("acme", "widgets", 1, body="try")
        assert failed.value.response.status_code == status
    assert gh.rest.issues.create_comment("acme", "widgets", 1, body="try").status_code == 201
    assert sim.count_requests("POST", r"/comments$") == 3
    assert len(sim.issue_comments(REPO, 1)) == 1


def test_secondary_rate_limit(sim, gh):
    sim.fail_next(
        "POST", r"/comments$", 403,
        headers={"retry-after": "1"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        gh.rest.issues.create_comment("acme", "widgets", 1, body="fast")
    assert limited.value.retry_after == timedelta(seconds=1)
    assert limited.value.response.status_code == 403
    assert limited.value.response.headers["retry-after"] == "1"


def test_primary_rate_limit(sim, gh):
    sim.primary_rate_limit_next("GET", r"^/repos/acme/widgets$", reset_in=30)
    with pytest.raises(PrimaryRateLimitExceeded) as limited:
        gh.rest.repos.get("acme", "widgets")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["x-ratelimit-remaining"] == "0"
    assert timedelta(seconds=25) < limited.value.retry_after <= timedelta(seconds=30)


def test_timeout(sim, gh):
    sim.timeout_next("*", r"/labels$")
    with pytest.raises(RequestTimeout):
        gh.rest.issues.add_labels("acme", "widgets", 1, labels=["devex:open"])
    assert sim.issue(REPO, 1)["labels"] == ["opportunity"]
    gh.rest.issues.add_labels("acme", "widgets", 1, labels=["devex:open"])
    assert sim.issue(REPO, 1)["labels"] == ["opportunity", "devex:open"]


def test_faults_can_hit_the_token_endpoint(sim, gh):
    sim.fail_next("POST", r"/access_tokens$", 500)
    with pytest.raises(RequestError) as failed:
        gh.rest.repos.get("acme", "widgets")
    assert failed.value.exc.response.status_code == 500
    assert gh.rest.repos.get("acme", "widgets").status_code == 200
    assert sim.token_requests == {INSTALLATION_ID: 1}


# ----------------------------------------------------------------------
# Human deliveries and rendering


def test_human_deliveries_parse_and_carry_the_installation(sim):
    sim.add_team_member("acme", "officers", "olivia")
    deliveries = [
        sim.human_open_issue(REPO, "Second", OPPORTUNITY_BODY, "alice", ["opportunity"]),
        sim.human_comment(REPO, 1, "bob", "/register\n/bid 9000 I will do it"),
        sim.human_label(REPO, 1, "alice", "urgent"),
        sim.human_unlabel(REPO, 1, "alice", "urgent"),
        sim.human_edit_issue(REPO, 1, "alice", "new body"),
        sim.human_close_issue(REPO, 1, "alice"),
        sim.human_open_pull_request(REPO, "Faster build", "Closes #1", "bob", head_repo="bob/widgets"),
    ]
    deliveries.append(sim.human_merge_pull_request(REPO, 3, "alice"))

    for event, payload in deliveries:
        parse_obj(event, payload)
        assert payload["installation"]["id"] == INSTALLATION_ID
        assert payload["sender"]["type"] == "User"
        assert payload["organization"]["login"] == "acme"
    assert sim.events == []  # only the app's own actions land in `events`

    opened, comment, labeled, unlabeled, edited, closed, pr_opened, merged = (p for _, p in deliveries)
    assert opened["issue"]["labels"][0]["name"] == "opportunity"
    assert comment["comment"]["body"].startswith("/register") and comment["sender"]["login"] == "bob"
    assert labeled["label"]["name"] == unlabeled["label"]["name"] == "urgent"
    assert edited["changes"] == {"body": {"from": OPPORTUNITY_BODY}}
    assert closed["issue"]["state"] == "closed"
    assert pr_opened["pull_request"]["head"]["repo"]["full_name"] == "bob/widgets"
    assert pr_opened["pull_request"]["base"]["repo"]["full_name"] == REPO
    assert merged["action"] == "closed" and merged["pull_request"]["merged"] is True
    assert merged["pull_request"]["merged_by"]["login"] == "alice"
    assert merged["pull_request"]["user"]["login"] == "bob"


def test_closing_a_pull_request_without_merge(sim):
    sim.open_pull_request(REPO, "Attempt", "Closes #1", "bob")
    event, payload = sim.human_close_pull_request(REPO, 2, "alice")
    parse_obj(event, payload)
    assert payload["pull_request"]["merged"] is False and payload["pull_request"]["merged_by"] is None


def test_render_thread(sim, gh):
    human = sim.add_comment(REPO, 1, "/bid 9000", "bob")
    gh.rest.issues.create_comment("acme", "widgets", 1, body="Receipt R-1 <!-- receipt -->")
    gh.rest.issues.delete_comment("acme", "widgets", human["id"])
    gh.rest.issues.add_labels("acme", "widgets", 1, labels=["devex:open"])

    text = sim.render_thread(REPO, 1)
    assert "Speed up the build #1  [Open]" in text
    assert "Labels: opportunity, devex:open" in text
    assert "9,500.00" in text and "devex:marker" not in text
    assert f"@{BOT_LOGIN} commented at " in text and "Receipt R-1" in text
    assert "/bid 9000" not in text and "<!--" not in text
    assert f"@{BOT_LOGIN} added the label devex:open" in text


# ----------------------------------------------------------------------
# Other ways in


def test_asgi_app_serves_githubkit_async(sim, app_key):
    async def scenario() -> None:
        gh = make_client(
            app_key[0], async_transport=httpx.ASGITransport(app=sim.asgi_app)
        )
        comment = (await gh.rest.issues.async_create_comment("acme", "widgets", 1, body="over ASGI")).parsed_data
        assert comment.user.login == BOT_LOGIN
        labels = (await gh.rest.issues.async_add_labels("acme", "widgets", 1, labels=["devex:open"])).parsed_data
        assert [label.name for label in labels] == ["opportunity", "devex:open"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.asgi_app), base_url=API) as raw:
            assert (await raw.get("/repos/acme/widgets")).status_code == 401
            assert (await raw.get("/nowhere")).status_code == 404

    asyncio.run(scenario())
    assert sim.token_requests == {INSTALLATION_ID: 1}
    assert [e for e, _ in sim.events] == ["issue_comment", "issues"]


def test_mock_transport_and_concurrent_callers(sim, app_key):
    gh = make_client(app_key[0], transport=sim.transport())
    gh.rest.repos.get("acme", "widgets")  # one token first, then many writers

    def post(n: int) -> None:
        for i in range(10):
            gh.rest.issues.create_comment("acme", "widgets", 1, body=f"{n}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    comments = sim.issue_comments(REPO, 1)
    assert len(comments) == 40 == len({c["id"] for c in comments})
    assert len(events_of(sim, "issue_comment", "created")) == 40
    assert sim.token_requests == {INSTALLATION_ID: 1}
