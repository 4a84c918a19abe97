"""Signing in to the desk with GitHub (the App's user authorization, OAuth web flow):
the authorize redirect, the state bound to the browser and spent once, the code
exchanged once, `GET /user` read with the user token, which is then revoked and
kept nowhere; GitHub's error answers; no open redirect; sign-out needs the
session's token; the desk is off without the App's client id and secret.
SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import html
import json

import pytest
import respx
from sqlalchemy import inspect, text

from tests.conftest import Harness
from tests.desk_flows import CLIENT_ID, DESK_SETTINGS, PUBLIC, WEB, Browser, desk, github_mock, oauth_requests  # noqa: F401

SESSION = "__Host-devex_session"
SIGNIN = "__Host-devex_signin"


def set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def signed_in_as(browser: Browser, login: str) -> bool:
    page = browser.desk()
    return page.status_code == 200 and f"as {login}." in page.text


def test_login_sends_the_browser_to_github_with_the_client_id_the_callback_and_a_state_bound_to_it(desk):
    browser = Browser(desk)
    query = browser.start_sign_in("/fr/desk")
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == PUBLIC + "/auth/callback"
    assert len(query["state"]) >= 40
    cookie = set_cookies(browser.last)[SIGNIN]
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/", "Max-Age=600"):
        assert attribute in cookie
    assert query["state"] not in cookie  # signed, but not readable as such in the URL's form
    assert browser.last.headers["cache-control"] == "no-store"
    # Each sign-in gets its own state.
    assert Browser(desk).start_sign_in()["state"] != query["state"]


def test_the_callback_exchanges_the_code_once_reads_the_user_and_signs_the_person_in(desk, sim, engine):
    browser = Browser(desk)
    response = browser.sign_in("bob", "/fr/desk")
    assert response.headers["location"] == "/fr/desk"
    cookie = set_cookies(response)[SESSION]
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute in cookie
    page = browser.desk("fr")
    assert page.status_code == 200 and "sous le nom bob." in page.text
    assert page.headers["cache-control"] == "no-store"

    exchange, user, revoke = oauth_requests(sim)
    assert (exchange.method, exchange.path) == ("POST", "/login/oauth/access_token")
    assert exchange.headers["accept"] == "application/json"
    assert exchange.json["client_id"] == CLIENT_ID and exchange.json["redirect_uri"] == PUBLIC + "/auth/callback"
    assert (user.method, user.path) == ("GET", "/user")
    token = user.headers["authorization"].split()[1]
    assert token.startswith("ghu_")
    # The user token is revoked at GitHub and kept nowhere: not in the cookie, not in the database.
    assert (revoke.method, revoke.path) == ("DELETE", f"/applications/{CLIENT_ID}/token")
    assert sim.user_tokens == {}
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    session = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
    assert session["login"] == "bob" and isinstance(session["id"], int) and "exp" in session
    assert token not in cookie and "ghu_" not in json.dumps(session)
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                assert token not in str(row)


def test_a_callback_in_another_browser_signs_no_one_in(desk, sim):
    started, other = Browser(desk), Browser(desk)
    query = started.start_sign_in()
    url = sim.authorize("mallory", query["client_id"], query["redirect_uri"], query["state"])
    page = other.callback(url)
    assert page.status_code == 400
    assert "did not start from this browser" in page.text and "No one was signed in" in page.text
    assert SESSION not in set_cookies(page)
    assert not [r for r in oauth_requests(sim) if r.path == "/login/oauth/access_token"]  # the code was never exchanged
    assert other.desk().status_code == 302


def test_a_wrong_state_signs_no_one_in(desk, sim):
    browser = Browser(desk)
    query = browser.start_sign_in()
    url = sim.authorize("bob", query["client_id"], query["redirect_uri"], query["state"][:-2] + "xx")
    page = browser.callback(url)
    assert page.status_code == 400 and "did not start from this browser" in page.text
    assert browser.desk().status_code == 302


def test_a_replayed_callback_is_refused_and_its_code_is_not_exchanged_again(desk, sim):
    browser = Browser(desk)
    query = browser.start_sign_in()
    signin_cookie = browser.cookies.get(SIGNIN)
    url = sim.authorize("bob", query["client_id"], query["redirect_uri"], query["state"])
    assert browser.callback(url).status_code == 303
    exchanges = len([r for r in oauth_requests(sim) if r.path == "/login/oauth/access_token"])
    # The same callback again, even carrying the sign-in cookie again (a stolen one).
    attacker = Browser(desk)
    attacker.cookies.set(SIGNIN, signin_cookie, domain="desk.test")
    page = attacker.callback(url)
    assert page.status_code == 400 and "already used" in page.text
    assert len([r for r in oauth_requests(sim) if r.path == "/login/oauth/access_token"]) == exchanges
    assert attacker.desk().status_code == 302


@pytest.mark.parametrize("how", ["incorrect", "expired", "used"])
def test_a_code_github_refuses_gets_a_page_that_says_so(desk, sim, how):
    browser = Browser(desk)
    query = browser.start_sign_in()
    url = sim.authorize("bob", query["client_id"], query["redirect_uri"], query["state"])
    if how == "incorrect":
        url = url.replace("code=", "code=0")
    elif how == "expired":
        sim.expire_oauth_codes()
    else:
        code = url.split("code=")[1].split("&")[0]
        sim.oauth_codes[code]["used"] = True
    page = browser.callback(url)
    assert page.status_code == 400
    assert "GitHub did not accept the sign-in code: it is incorrect, already used or expired." in page.text
    assert "No one was signed in" in page.text
    assert SESSION not in set_cookies(page)
    assert not [r for r in oauth_requests(sim) if r.path == "/user"]


def test_denied_access_gets_a_page_that_says_so(desk, sim):
    browser = Browser(desk)
    query = browser.start_sign_in("/fr/desk")
    page = browser.callback(sim.deny(query["redirect_uri"], query["state"]))
    assert page.status_code == 403
    assert 'lang="fr"' in page.text and "Vous avez choisi de ne pas autoriser" in page.text
    assert oauth_requests(sim) == []
    assert browser.desk().status_code == 302


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/login?next=//evil", "en/desk"])
def test_next_is_only_ever_a_local_path(desk, wanted):
    browser = Browser(desk)
    response = browser.sign_in("bob", wanted)
    assert response.headers["location"] == "/en/desk"


def test_a_local_next_is_followed(desk):
    assert Browser(desk).sign_in("bob", "/fr/desk?opportunity=octo-org/procurement%231").headers["location"] == "/fr/desk?opportunity=octo-org/procurement%231"


def test_the_desk_sends_a_person_not_signed_in_to_login(desk):
    response = Browser(desk).get("/fr/desk")
    assert response.status_code == 302 and response.headers["location"] == "/login?next=%2Ffr%2Fdesk"


def test_signing_out_needs_the_sessions_token(desk):
    browser = Browser(desk)
    browser.sign_in("bob")
    token = browser.csrf()
    refused = browser.post("/logout", {"lang": "en"})
    assert refused.status_code == 403 and signed_in_as(browser, "bob")
    Browser(desk).sign_in("carol")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = browser.post("/logout", {"lang": "en", "csrf": altered})
    assert forged.status_code == 403 and signed_in_as(browser, "bob")
    done = browser.post("/logout", {"lang": "en", "csrf": token})
    assert done.status_code == 200 and "You are signed out" in done.text
    assert browser.desk().status_code == 302


def test_an_altered_session_cookie_signs_no_one_in(desk):
    browser = Browser(desk)
    browser.sign_in("bob")
    value = browser.cookies.get(SESSION)
    body, mac = value.split(".")
    forged = base64.urlsafe_b64encode(base64.urlsafe_b64decode(body + "==").replace(b'"bob"', b'"eve"')).rstrip(b"=").decode()
    browser.cookies.set(SESSION, forged + "." + mac, domain="desk.test")
    assert browser.desk().status_code == 302


def test_the_desk_is_off_and_says_so_without_the_apps_client_id_and_secret(engine, sim, app_key, clock):
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        settings = {k: v for k, v in DESK_SETTINGS.items() if k not in ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")}
        harness = Harness(engine, sim, app_key, clock, **settings)
        browser = Browser(harness)
        for path in ("/login?next=/en/desk", "/en/desk", "/fr/desk", "/auth/callback?code=x&state=y"):
            page = browser.get(path)
            assert page.status_code == 503
            shown = html.unescape(page.text)
            assert "Signing in with GitHub is not set up on this server" in shown or "La connexion avec GitHub n'est pas configurée" in shown
        assert browser.post("/en/desk/bid", {"opportunity": "a/b#1"}).status_code == 503


def test_sign_in_works_on_github_enterprise_server(engine, sim, app_key, clock):
    with respx.mock(assert_all_called=False) as router:
        router.route(host="ghe.test").mock(side_effect=sim.respx_handler)
        sim.oauth_app(CLIENT_ID, DESK_SETTINGS["GITHUB_CLIENT_SECRET"])
        settings = dict(DESK_SETTINGS, GITHUB_WEB_URL="https://ghe.test", GITHUB_API_URL="https://ghe.test/api/v3")
        harness = Harness(engine, sim, app_key, clock, **settings)
        browser = Browser(harness)
        response = browser.get("/login", params={"next": "/en/desk"})
        assert response.headers["location"].startswith("https://ghe.test/login/oauth/authorize?")
        query = dict(p.split("=", 1) for p in response.headers["location"].split("?", 1)[1].split("&"))
        from urllib.parse import unquote

        url = sim.authorize("bob", query["client_id"], unquote(query["redirect_uri"]), unquote(query["state"]))
        assert browser.callback(url).status_code == 303
        assert signed_in_as(browser, "bob")
        user = next(r for r in sim.requests if r.path == "/user")
        assert user.headers["host"] == "ghe.test"


# GitHub's documented answers, word for word (docs.github.com: "Authorizing OAuth apps",
# "Troubleshooting OAuth app access token request errors", "Get the authenticated user").
TOKEN_ANSWER = {"access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a", "scope": "", "token_type": "bearer"}
BAD_CODE_ANSWER = {
    "error": "bad_verification_code",
    "error_description": "The code passed is incorrect or expired.",
    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
}
OCTOCAT = {
    "login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://github.com/images/error/octocat_happy.gif",
    "gravatar_id": "", "url": "https://api.github.com/users/octocat", "html_url": "https://github.com/octocat", "type": "User",
    "site_admin": False, "name": "monalisa octocat", "company": "GitHub", "blog": "https://github.com/blog", "location": "San Francisco",
    "email": "octocat@github.com", "hireable": False, "bio": "There once was...", "twitter_username": "monatheoctocat",
    "public_repos": 2, "public_gists": 1, "followers": 20, "following": 0,
    "created_at": "2008-01-14T04:33:35Z", "updated_at": "2008-01-14T04:33:35Z",
}


def test_githubs_documented_answers_word_for_word(engine, sim, app_key, clock):
    with respx.mock(assert_all_called=False) as router:
        exchange = router.post(WEB + "/login/oauth/access_token").respond(200, json=TOKEN_ANSWER)
        user = router.get("https://api.github.test/user").respond(200, json=OCTOCAT)
        revoke = router.delete(f"https://api.github.test/applications/{CLIENT_ID}/token").respond(204)
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        harness = Harness(engine, sim, app_key, clock, **DESK_SETTINGS)
        browser = Browser(harness)
        state = browser.start_sign_in()["state"]
        assert browser.callback(f"{PUBLIC}/auth/callback?code=e72e16c7e42f292c6912&state={state}").status_code == 303
        assert signed_in_as(browser, "octocat")
        sent = exchange.calls.last.request
        assert sent.headers["accept"] == "application/json"
        assert b"code=e72e16c7e42f292c6912" in sent.content and b"client_secret=" in sent.content
        assert user.calls.last.request.headers["authorization"] == "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a"
        assert revoke.called
        # The email GitHub answered is not kept: the session holds the login and the id only.
        session = json.loads(base64.urlsafe_b64decode(browser.cookies.get(SESSION).split(".")[0] + "=="))
        assert set(session) == {"login", "id", "sid", "exp"} and (session["login"], session["id"]) == ("octocat", 1)

        exchange.respond(200, json=BAD_CODE_ANSWER)
        again = Browser(harness)
        state = again.start_sign_in()["state"]
        page = again.callback(f"{PUBLIC}/auth/callback?code=e72e16c7e42f292c6912&state={state}")
        assert page.status_code == 400 and "incorrect, already used or expired" in page.text
        assert user.call_count == 1
