"""The bidder's desk as a person uses it: a browser (cookies kept, over https) that signs
in with GitHub through the simulated OAuth web flow, reads its desk and sends its forms.

The app is driven through `httpx.ASGITransport` (which respx does not intercept);
the app's own calls to GitHub (the token exchange on the web host, `GET /user`
on the API) go through respx to the simulated GitHub.
"""

from __future__ import annotations

import asyncio
import re
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import API

WEB = "https://github.test"
PUBLIC = "https://desk.test"
CLIENT_ID = "Iv23liDeskClient01"
CLIENT_SECRET = "desk-client-secret-0123456789abcdef"
SECRET_KEY = "desk-signing-key-for-tests-0123456789"

DESK_SETTINGS = dict(
    GITHUB_CLIENT_ID=CLIENT_ID,
    GITHUB_CLIENT_SECRET=CLIENT_SECRET,
    GITHUB_WEB_URL=WEB,
    DEVEX_PUBLIC_URL=PUBLIC,
    DEVEX_SECRET_KEY=SECRET_KEY,
    DEVEX_DESK_WAIT=0,
)

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One person's browser: its own cookies."""

    def __init__(self, harness):
        self.harness = harness
        self.public = harness.settings.public_url or PUBLIC
        self.cookies = httpx.Cookies()
        self.last: Optional[httpx.Response] = None

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.harness.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.public, cookies=self.cookies) as client:
                response = await client.request(method, path, **kwargs)
                self.cookies = client.cookies
                return response

        self.last = asyncio.run(go())
        return self.last

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> httpx.Response:
        return self.request("POST", path, data=data, **kwargs)

    # -- signing in
    def start_sign_in(self, next_path: str = "/en/desk") -> dict:
        """GET /login: the authorize URL's query (client_id, redirect_uri, state...)."""
        response = self.get("/login", params={"next": next_path})
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == WEB + "/login/oauth/authorize"
        return {k: v[0] for k, v in parse_qs(location.query).items()}

    def callback(self, url: str) -> httpx.Response:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == self.public
        return self.get(parts.path + "?" + parts.query)

    def sign_in(self, login: str, next_path: str = "/en/desk") -> httpx.Response:
        query = self.start_sign_in(next_path)
        url = self.harness.sim.authorize(login, query["client_id"], query["redirect_uri"], query["state"])
        response = self.callback(url)
        assert response.status_code == 303, response.text
        return response

    # -- the desk
    def desk(self, lang: str = "en", **params) -> httpx.Response:
        return self.get(f"/{lang}/desk", params=params)

    def csrf(self, lang: str = "en") -> str:
        return CSRF.search(self.desk(lang).text).group(1)

    def send(self, form: str, lang: str = "en", run: bool = True, **fields) -> httpx.Response:
        """Sends a desk form with this session's token; the worker applies it; returns the desk shown after."""
        fields.setdefault("csrf", self.csrf(lang))
        response = self.post(f"/{lang}/desk/{form}", fields)
        if response.status_code != 303:
            return response
        if run:
            self.harness.run()
        return self.get(response.headers["location"])


def github_mock(router, sim) -> None:
    """The web host of the simulated GitHub (the token exchange) beside its API."""
    router.route(host=urlsplit(WEB).netloc).mock(side_effect=sim.respx_handler)


def oauth_requests(sim) -> list:
    return [r for r in sim.requests if r.path in ("/login/oauth/access_token", "/user") or r.path.startswith("/applications/")]


__all__ = ["API", "Browser", "CLIENT_ID", "DESK_SETTINGS", "PUBLIC", "WEB", "github_mock", "oauth_requests"]


# ------------------------------------------------------------------ fixtures

import pytest  # noqa: E402
import respx  # noqa: E402

from tests.conftest import Harness  # noqa: E402


@pytest.fixture
def desk(engine, sim, app_key, clock):
    """The whole bot with the desk on, GitHub's API and web host simulated."""
    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
        github_mock(router, sim)
        sim.oauth_app(CLIENT_ID, CLIENT_SECRET)
        yield Harness(engine, sim, app_key, clock, **DESK_SETTINGS)
