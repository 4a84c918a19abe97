"""The alert pages (PRODUCT.md "Alerts", "HTTP interface"): subscribe, confirm, unsubscribe.

- `POST /en/alerts`, `POST /fr/alerts`: the board's form (`email`, `skill`,
  `org`, `min`, `max`, and the cross-site token); the language is the path's.
- `GET /alerts/confirm?token=...`: confirms, and says what will be sent.
- `GET /alerts/unsubscribe?token=...`: a page with a button (a link scanner
  following the link unsubscribes nobody); `POST` to the same URL unsubscribes
  at once, as RFC 8058's one-click does.

No page shows an address, and every page answers the same whatever the
address (new, subscribed or limited), so the form tells nobody anything about
one. Without `SMTP_URL` alerts are off and these routes say so.

The board shows the form with :func:`alerts_form` and `{% include "_alerts.html" %}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import parse_qs, urlencode

import anyio
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.alerts import subscriptions
from bot.alerts.addresses import read_address
from bot.alerts.letters import search_terms
from bot.alerts.rendering import LANGUAGES, render_page
from bot.procurement.searches import read_search
from bot.settings import Settings
from bot.web import csrf
from storage.db import session_scope
from storage.tables import utcnow

MAX_FORM = 16 * 1024  # bytes: five short fields and a token
FIELDS = ("email", "skill", "org", "min", "max")
OTHER = {"en": "fr", "fr": "en"}
# Token pages must not be cached, indexed, or named in a Referer to anything they link to.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@dataclass
class AlertsForm:
    """What `_alerts.html` needs: whether alerts are on, where to post, the cross-site token."""

    enabled: bool
    lang: str
    action: str
    token: str = ""
    values: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    new_nonce: Optional[str] = None  # a cookie the browser does not have yet
    public_base: str = ""

    def set_cookie(self, response: Response) -> None:
        """The page showing the form sets the cookie its token is bound to."""
        if self.new_nonce:
            csrf.set_cookie(response, self.new_nonce, self.public_base)


def alerts_form(request: Request, settings: Settings, lang: str, values: Optional[dict] = None, problems: Optional[list] = None) -> AlertsForm:
    form = AlertsForm(enabled=settings.alerts_on, lang=lang, action=f"/{lang}/alerts", public_base=settings.public_base)
    # The address is never written back into a page, not even to the person who typed it.
    form.values = {k: (values or {}).get(k) or "" for k in FIELDS if k != "email"}
    form.problems = list(problems or [])
    if form.enabled:
        nonce = csrf.nonce_of(request)
        if nonce is None:
            nonce = form.new_nonce = csrf.new_nonce()
        form.token = csrf.token_for(settings.secret_key, nonce)
    return form


def _language(request: Request, fallback: Optional[str] = None) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if fallback in LANGUAGES:
        return fallback
    accepted = request.headers.get("accept-language", "").lower()
    positions = {lang: accepted.find(lang) for lang in LANGUAGES if lang in accepted}
    return min(positions, key=positions.get) if positions else "en"


def _same_page_in(request: Request, lang: str) -> str:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def page(name: str, lang: str, status: int = 200, other_url: Optional[str] = None, **values) -> HTMLResponse:
    other = OTHER[lang]
    html = render_page(f"{lang}/alerts_{name}.html", lang=lang, other_lang=other, other_url=other_url or f"/{other}/", **values)
    return HTMLResponse(html + "\n", status_code=status, headers=PRIVATE_HEADERS)


async def _read_form(request: Request) -> Optional[dict]:
    """The urlencoded fields, or None when the body is too long to be this form."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def routes(engine: Engine, settings: Settings, clock: Callable[[], datetime] = utcnow) -> list[Route]:
    key = settings.secret_key or ""

    def form_problem(request: Request, lang: str, values: dict, problems: list, status: int) -> Response:
        form = alerts_form(request, settings, lang, values, problems)
        response = page("form_problem", lang, status, alerts=form)
        form.set_cookie(response)
        return response

    async def subscribe(request: Request) -> Response:
        lang = request.url.path.strip("/").split("/")[0]
        if not settings.alerts_on:
            return page("off", lang, 404)
        fields = await _read_form(request)
        if fields is None:
            return form_problem(request, lang, {}, ["too_long"], 413)
        if not csrf.origin_ok(request, settings.public_base) or not csrf.valid(request, key, fields.get(csrf.FIELD)):
            return form_problem(request, lang, fields, ["cross_site"], 403)
        address = read_address(fields.get("email"))
        search, problems = read_search(fields)
        if address is None:
            problems = ["email", *problems]
        if problems:
            return form_problem(request, lang, fields, problems, 400)

        def store() -> None:
            with session_scope(engine) as session:
                subscriptions.subscribe(session, key, address, search, lang, clock())

        await anyio.to_thread.run_sync(store)
        values = {"skill": search.skill, "org": search.org, "min": search.min_value, "max": search.max_value}
        return page("sent", lang, search=values)

    async def confirm(request: Request) -> Response:
        if not settings.alerts_on:
            return page("off", _language(request), 404, other_url=_same_page_in(request, OTHER[_language(request)]))
        token = request.query_params.get("token")

        def store() -> subscriptions.Confirmation:
            with session_scope(engine) as session:
                return subscriptions.confirm(session, key, token, clock())

        result = await anyio.to_thread.run_sync(store)
        lang = _language(request, result.subscription.language if result.subscription else None)
        other_url = _same_page_in(request, OTHER[lang])
        if result.problem:
            return page("link_problem", lang, 400 if result.problem == "bad" else 410, other_url=other_url, problem=result.problem)
        return page("confirmed", lang, other_url=other_url, search=search_terms(result.subscription), language=result.subscription.language)

    async def unsubscribe(request: Request) -> Response:
        if not key:
            return page("off", _language(request), 404, other_url=_same_page_in(request, OTHER[_language(request)]))
        token = request.query_params.get("token")
        if request.method == "GET":

            def read() -> Optional[str]:
                with session_scope(engine) as session:
                    return subscriptions.unsubscribe_language(session, key, token, clock())

            language = await anyio.to_thread.run_sync(read)
            lang = _language(request, language)
            other_url = _same_page_in(request, OTHER[lang])
            if language is None:
                return page("link_problem", lang, 400, other_url=other_url, problem="bad")
            return page("unsubscribe", lang, other_url=other_url, action=f"{request.url.path}?{request.url.query}")
        # One click (RFC 8058): a mail client posts `List-Unsubscribe=One-Click`, with no
        # cookie; the signed token in the URL is the whole authority, as it is in a GET.

        def store() -> Optional[str]:
            with session_scope(engine) as session:
                return subscriptions.unsubscribe(session, key, token, clock())

        language = await anyio.to_thread.run_sync(store)
        lang = _language(request, language)
        if language is None:
            return page("link_problem", lang, 400, other_url=_same_page_in(request, OTHER[lang]), problem="bad")
        return page("unsubscribed", lang)

    return [
        Route("/en/alerts", subscribe, methods=["POST"]),
        Route("/fr/alerts", subscribe, methods=["POST"]),
        Route("/alerts/confirm", confirm, methods=["GET"]),
        Route("/alerts/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]
