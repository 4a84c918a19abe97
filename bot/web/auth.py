"""Sign in with GitHub for the bidder's desk: the App's user authorization (OAuth web flow).

`GET /login?next=PATH` sends the browser to `GITHUB_WEB_URL/login/oauth/authorize`
with the App's client id, the callback `DEVEX_PUBLIC_URL/auth/callback` and a
random `state`, which is also kept in a short-lived signed cookie: the state
is bound to this browser. `GET /auth/callback` checks it (once: a state is
spent when it comes back), exchanges the code once at
`GITHUB_WEB_URL/login/oauth/access_token`, reads `GET /user` with the user
token, forgets (and revokes) the token, and signs the person in with a signed
session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` under https). Nothing of
the token is kept or logged. `POST /logout` takes a cross-site token.

Every GitHub call goes through one `httpx.AsyncClient` (respx-mockable).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.settings import Settings
from bot.web.desk_render import SECURITY_HEADERS, page
from bot.web.signing import Signer

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=8)
SIGNIN_LIFETIME = timedelta(minutes=10)
DEFAULT_NEXT = "/en/desk"
GITHUB_TIMEOUT = 15.0


@dataclass(frozen=True)
class Person:
    """Who is signed in: their GitHub login and id, and this session's own id."""

    login: str
    user_id: int
    sid: str


def local_path(value: Optional[str]) -> str:
    """`next` as a path of this site only: no scheme, no host, no `//` (no open redirect)."""
    if not value or len(value) > 500 or any(c in value for c in "\r\n\t\\") or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/auth/", "/logout")):
        return DEFAULT_NEXT
    return value


MAX_FORM = 256 * 1024  # a proposal of 60,000 characters, percent-encoded, fits


async def form_fields(request: Request) -> Optional[dict[str, str]]:
    """An urlencoded form's fields (the first value of each), or None when it is too big.
    The desk's forms are plain HTML forms: no multipart, no files."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    fields: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, value)
    return fields


def language_of(path: str) -> str:
    return "fr" if path == "/fr" or path.startswith("/fr/") else "en"


class SignIn:
    """The desk's sessions and the OAuth web flow; `routes()` mounts them."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], client: Optional[httpx.AsyncClient] = None):
        self.settings = settings
        self.clock = clock
        self.enabled = settings.desk_enabled
        self.signer = Signer(settings.secret_key) if settings.secret_key else None
        self.client = client or httpx.AsyncClient(timeout=GITHUB_TIMEOUT)
        self.public_url = (settings.public_url or "").rstrip("/")
        self.secure = self.public_url.startswith("https://")
        prefix = "__Host-" if self.secure else ""  # __Host-: only this host, only over https
        self.session_cookie = prefix + "devex_session"
        self.signin_cookie = prefix + "devex_signin"
        self._spent: dict[str, float] = {}  # states that came back, until they expire
        self._lock = threading.Lock()

    # ------------------------------------------------------------ sessions

    def person(self, request: Request) -> Optional[Person]:
        if not self.enabled:
            return None
        data = self.signer.read("session", request.cookies.get(self.session_cookie), self.clock())
        if data is None or not isinstance(data.get("login"), str) or not isinstance(data.get("id"), int) or not isinstance(data.get("sid"), str):
            return None
        return Person(data["login"], data["id"], data["sid"])

    def csrf(self, person: Person) -> str:
        """The cross-site token of this person's session, for every form."""
        return self.signer.token("csrf", person.sid, str(person.user_id))

    def csrf_ok(self, person: Person, given: Optional[str]) -> bool:
        return self.signer.token_ok("csrf", given, person.sid, str(person.user_id))

    def _cookie(self, response: Response, name: str, value: str, lifetime: timedelta) -> None:
        response.set_cookie(name, value, max_age=int(lifetime.total_seconds()), path="/", httponly=True, samesite="lax", secure=self.secure)

    def _forget(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=self.secure)

    def _spend(self, state: str) -> bool:
        """True the first time a state comes back; a replayed callback gets False."""
        now = self.clock().timestamp()
        with self._lock:
            for old, expires in list(self._spent.items()):
                if expires <= now:
                    del self._spent[old]
            if state in self._spent:
                return False
            self._spent[state] = now + SIGNIN_LIFETIME.total_seconds()
            return True

    # ------------------------------------------------------------ pages

    def off(self, lang: str = "en") -> Response:
        return HTMLResponse(page("desk/off.html", lang, here=f"/{lang}/desk"), status_code=503, headers=SECURITY_HEADERS)

    def problem(self, reason: str, back: str, status: int = 400) -> Response:
        lang = language_of(back)
        response = HTMLResponse(
            page("desk/signin_problem.html", lang, here=back, reason=reason, retry="/login?" + urlencode({"next": back})), status_code=status, headers=SECURITY_HEADERS
        )
        self._forget(response, self.signin_cookie)
        return response

    # ------------------------------------------------------------ the flow

    async def login(self, request: Request) -> Response:
        wanted = local_path(request.query_params.get("next"))
        if not self.enabled:
            return self.off(language_of(wanted))
        state = secrets.token_urlsafe(32)
        query = urlencode(
            {
                "client_id": self.settings.github_client_id,
                "redirect_uri": self.public_url + "/auth/callback",
                "state": state,
                "allow_signup": "true",
            }
        )
        response = RedirectResponse(self.settings.github_web_url.rstrip("/") + "/login/oauth/authorize?" + query, status_code=302)
        response.headers["Cache-Control"] = "no-store"
        self._cookie(response, self.signin_cookie, self.signer.sign("signin", {"state": state, "next": wanted}, self.clock(), SIGNIN_LIFETIME), SIGNIN_LIFETIME)
        return response

    async def callback(self, request: Request) -> Response:
        if not self.enabled:
            return self.off()
        started = self.signer.read("signin", request.cookies.get(self.signin_cookie), self.clock())
        back = local_path(started.get("next")) if started else DEFAULT_NEXT
        given = request.query_params.get("state", "")
        if started is None or not isinstance(started.get("state"), str) or not secrets.compare_digest(given.encode(), started["state"].encode()):
            return self.problem("state", back)
        if not self._spend(given):
            return self.problem("replayed", back)
        if request.query_params.get("error"):
            return self.problem("denied" if request.query_params["error"] == "access_denied" else "github", back, 403)
        code = request.query_params.get("code")
        if not code:
            return self.problem("code", back)
        try:
            who = await self._who(code)
        except httpx.HTTPError:
            log.warning("sign-in: GitHub could not be reached")
            return self.problem("unreachable", back, 502)
        if isinstance(who, str):
            return self.problem(who, back)
        login, user_id = who
        response = RedirectResponse(back, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        session = {"login": login, "id": user_id, "sid": secrets.token_urlsafe(16)}
        self._cookie(response, self.session_cookie, self.signer.sign("session", session, self.clock(), SESSION_LIFETIME), SESSION_LIFETIME)
        self._forget(response, self.signin_cookie)
        log.info("sign-in: %s signed in to the desk", login)
        return response

    async def _who(self, code: str):
        """(login, id) of the person GitHub authorized, or why not (a problem's name).
        The user token lives only in this function."""
        answer = await self.client.post(
            self.settings.github_web_url.rstrip("/") + "/login/oauth/access_token",
            data={
                "client_id": self.settings.github_client_id,
                "client_secret": self.settings.github_client_secret,
                "code": code,
                "redirect_uri": self.public_url + "/auth/callback",
            },
            headers={"Accept": "application/json"},
        )
        try:
            grant = answer.json()
        except ValueError:
            grant = {}
        token = grant.get("access_token") if isinstance(grant, dict) and answer.status_code == 200 else None
        if not token:
            # GitHub answers 200 with {"error": "bad_verification_code"} for a wrong,
            # used or expired code.
            log.info("sign-in: the code was refused (%s)", grant.get("error") if isinstance(grant, dict) else answer.status_code)
            return "code"
        api = self.settings.github_api_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        user = await self.client.get(api + "/user", headers=headers)
        await self._revoke(api, token)
        del token
        data = user.json() if user.status_code == 200 else None
        if not isinstance(data, dict) or not isinstance(data.get("login"), str) or not isinstance(data.get("id"), int):
            return "github"
        if data.get("type") not in (None, "User"):
            return "not_a_person"
        return data["login"], data["id"]

    async def _revoke(self, api: str, token: str) -> None:
        """The desk needs the token once: GitHub is asked to forget it too."""
        try:
            await self.client.request(
                "DELETE",
                f"{api}/applications/{self.settings.github_client_id}/token",
                json={"access_token": token},
                auth=(self.settings.github_client_id, self.settings.github_client_secret),
                headers={"Accept": "application/vnd.github+json"},
            )
        except httpx.HTTPError:
            log.info("sign-in: the user token could not be revoked (it expires by itself)")

    async def logout(self, request: Request) -> Response:
        form = await form_fields(request) or {}
        lang = "fr" if form.get("lang") == "fr" else "en"
        person = self.person(request)
        if person is None:
            return RedirectResponse(f"/{lang}/desk", status_code=303)
        if not self.csrf_ok(person, form.get("csrf")):
            return HTMLResponse(page("desk/forbidden.html", lang, here=f"/{lang}/desk"), status_code=403, headers=SECURITY_HEADERS)
        response = HTMLResponse(page("desk/signed_out.html", lang, here=f"/{lang}/desk"), headers=SECURITY_HEADERS)
        self._forget(response, self.session_cookie)
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login, methods=["GET"]),
            Route("/auth/callback", self.callback, methods=["GET"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]


def routes(settings: Settings, clock: Callable[[], datetime], client: Optional[httpx.AsyncClient] = None) -> list[Route]:
    """The sign-in routes (`GET /login`, `GET /auth/callback`, `POST /logout`)."""
    return SignIn(settings, clock, client).routes()
