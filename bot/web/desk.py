"""The bidder's desk: `GET /en/desk` (and `/fr/`), and its forms `POST /LANG/desk/register`,
`/LANG/desk/bid`, `/LANG/desk/withdraw`.

A form is not applied here. It is checked (signed in, cross-site token, at
most `DEVEX_DESK_RATE` forms a minute per person, fields readable), then
stored as an internal delivery (`devex.desk`) in the inbox with the
opportunity issue's ordering key, so the worker applies it in order with
that issue's other events (a `/cancel`, the deadline passing, a comment
`/bid`), exactly once, with the same checks and recording code as the
comment commands (`bot.stages.desk`). The page then waits a few seconds for
the worker and shows the receipt. Nothing here calls GitHub: the amount and
the text go from the form to the database only.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Callable, Optional
from urllib.parse import quote, urlencode

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.pipeline.delivery import delivery_from
from bot.procurement.money import AmountError, parse_amount
from bot.settings import Settings
from bot.stages.desk_view import desk_view
from bot.web.auth import Person, SignIn, form_fields
from bot.web.desk_render import SECURITY_HEADERS, page
from storage import desk as store
from storage import inbox
from storage.installations import installation_active

LANGS = ("en", "fr")
FORMS = ("register", "bid", "withdraw")
# OWNER/REPO#NUMBER, as GitHub writes a cross-repository reference.
OPPORTUNITY_RE = re.compile(r"^\s*(?P<repository>[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100})\s*#\s*(?P<number>[0-9]{1,9})\s*$")
MAX_PROPOSAL = 60000  # a comment on GitHub holds 65,536 characters; the evaluation issue quotes it
RATE_WINDOW = timedelta(minutes=1)
POLL = 0.1


def parse_opportunity(text: Optional[str]) -> Optional[tuple[str, int]]:
    match = OPPORTUNITY_RE.match(text or "")
    return (match["repository"], int(match["number"])) if match else None


class Desk:
    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime], signin: SignIn):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.signin = signin

    def _page(self, template: str, lang: str, person: Optional[Person], status: int = 200, **values) -> Response:
        csrf = self.signin.csrf(person) if person else ""
        # Never cached (by a proxy or the browser), never framed, no script.
        return HTMLResponse(page(template, lang, here=f"/{lang}/desk", person=person, csrf=csrf, **values), status_code=status, headers=SECURITY_HEADERS)

    def _to_login(self, lang: str, request: Request) -> Response:
        wanted = f"/{lang}/desk" + (f"?{request.url.query}" if request.url.query and request.method == "GET" else "")
        return RedirectResponse("/login?" + urlencode({"next": wanted}), status_code=302 if request.method == "GET" else 303)

    # ------------------------------------------------------------ GET /LANG/desk

    async def show(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        if not self.signin.enabled:
            return self.signin.off(lang)
        person = self.signin.person(request)
        if person is None:
            return self._to_login(lang, request)
        key = request.query_params.get("request")
        view = await anyio.to_thread.run_sync(self._view, person, key)
        prefill = request.query_params.get("opportunity", "")
        return self._page("desk/desk.html", lang, person, view=view, form={"opportunity": prefill[:210]}, notice=None)

    def _view(self, person: Person, key: Optional[str]):
        with Session(self.engine) as session:
            return desk_view(session, person.login, person.user_id, key)

    # ------------------------------------------------------------ POST /LANG/desk/FORM

    async def send(self, request: Request) -> Response:
        lang, form_name = request.path_params["lang"], request.path_params["form"]
        if not self.signin.enabled:
            return self.signin.off(lang)
        person = self.signin.person(request)
        if person is None:
            return self._to_login(lang, request)
        form = await form_fields(request)
        if form is None:
            form = {"csrf": ""}  # too big: refused like a forged form, nothing read
        if not self.signin.csrf_ok(person, form.get("csrf")):
            return self._page("desk/forbidden.html", lang, person, status=403)
        fields = {k: form.get(k, "") for k in ("opportunity", "amount", "proposal", "attest")}
        stored = await anyio.to_thread.run_sync(self._accept, person, form_name, fields)
        if stored == "rate":
            return self._page("desk/slow_down.html", lang, person, status=429, count=self.settings.desk_rate)
        if isinstance(stored, tuple):  # refused before anything was stored: the form comes back filled
            code, params = stored
            view = await anyio.to_thread.run_sync(self._view, person, None)
            notice = {"refused": True, "code": code, "params": params}
            return self._page("desk/desk.html", lang, person, status=400, view=view, form=fields, notice=notice, sent=form_name)
        await self._wait(stored)
        return RedirectResponse(f"/{lang}/desk?request={quote(stored)}#outcome", status_code=303)

    def _accept(self, person: Person, form_name: str, fields: dict):
        """Stores the form (its outcome row and its delivery), or says why not."""
        named = parse_opportunity(fields["opportunity"])
        if named is None:
            return "no_such_opportunity", {"opportunity": fields["opportunity"][:120]}
        extra: dict = {}
        if form_name == "bid":
            try:
                extra["amount"] = str(parse_amount(fields["amount"]))
            except AmountError as error:
                return error.code, {}
            proposal = fields["proposal"].replace("\r\n", "\n").strip()
            if not proposal:
                return "proposal_missing", {}
            if len(proposal) > MAX_PROPOSAL:
                return "proposal_too_long", {"limit": MAX_PROPOSAL}
            extra["proposal"] = proposal
        if form_name == "register" and fields["attest"] != "yes":
            return "attest_missing", {}
        now = self.clock()
        key = secrets.token_urlsafe(18)
        with Session(self.engine) as session:
            if store.recent_count(session, person.user_id, now - RATE_WINDOW) >= self.settings.desk_rate:
                return "rate"
            opportunity = store.opportunity_named(session, *named)
            if opportunity is None:
                return "no_such_opportunity", {"opportunity": f"{named[0]}#{named[1]}"}
            if not installation_active(session, opportunity.installation_id):
                # The worker would set it aside: say so now rather than "being recorded" for ever.
                return "installation_inactive", {}
            store.new_request(session, key, person.login, person.user_id, form_name, opportunity.id, now)
            payload = {
                "request": key,
                "form": form_name,
                "login": person.login,
                "user_id": person.user_id,
                "opportunity_id": opportunity.id,
                "repository": {"full_name": opportunity.repository},
                "issue": {"number": opportunity.issue_number},
                "installation": {"id": opportunity.installation_id},
                **extra,
            }
            delivery = delivery_from(f"devex:desk:{key}", "devex.desk", None, payload, json.dumps(payload).encode("utf-8"))
            inbox.store(session, delivery, now)
            session.commit()
        return key

    async def _wait(self, key: str) -> None:
        """Until the worker has applied the form, for at most DEVEX_DESK_WAIT seconds."""
        waited = 0.0
        while waited < self.settings.desk_wait:
            if await anyio.to_thread.run_sync(self._applied, key):
                return
            await asyncio.sleep(POLL)
            waited += POLL

    def _applied(self, key: str) -> bool:
        with Session(self.engine) as session:
            row = store.request_by_key(session, key)
            return row is not None and row.status != "pending"

    def routes(self) -> list[Route]:
        return [
            Route("/{lang:str}/desk", self.show, methods=["GET"]),
            Route("/{lang:str}/desk/{form:str}", self.send, methods=["POST"]),
        ]


def _only(paths: list[Route]) -> list[Route]:
    """The desk's routes answer only for /en/ and /fr/ and its three forms; the rest falls through."""
    from starlette.routing import Match

    class Limited(Route):
        def matches(self, scope):
            match, child = super().matches(scope)
            params = child.get("path_params", {}) if match != Match.NONE else {}
            if match != Match.NONE and (params.get("lang") not in LANGS or params.get("form", "bid") not in FORMS):
                return Match.NONE, {}
            return match, child

    return [Limited(r.path, r.endpoint, methods=list(r.methods or ())) for r in paths]


def routes(engine: Engine, settings: Settings, clock: Callable[[], datetime], client: Optional[httpx.AsyncClient] = None) -> list[Route]:
    """Sign-in (`/login`, `/auth/callback`, `/logout`) and the desk, for the composition root."""
    signin = SignIn(settings, clock, client)
    return signin.routes() + _only(Desk(engine, settings, clock, signin).routes())
