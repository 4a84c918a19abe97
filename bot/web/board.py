"""The public board: its pages, feeds and JSON, and the Starlette routes that serve them.

`Board` makes each page (served, or written as files by `bot.web.export`);
`routes(engine, settings)` serves them next to `POST /webhooks`: `GET /`,
`/en/` and `/fr/` (the filtered list), `/{en,fr}/opportunities/OWNER/REPO/
NUMBER`, `/{en,fr}/feed.atom`, `/api/opportunities[/OWNER/REPO/NUMBER]` and
the stylesheet. Pages, feeds and JSON carry an ETag (a hash of the body) and
answer `If-None-Match` with 304. A bad link gets a page that says so (404, or
400 naming the filter), never a traceback. The database is read on a worker
thread, so a page never holds up webhook intake on the event loop.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.web import api
from bot.web.filters import FilterError, Filters, parse_filters
from bot.web.links import Links, Site, relative
from bot.web.alerts import alerts_form
from bot.web.render import LANGUAGES, OTHER, WEB, render
from storage import board as store

PER_PAGE = 20
FEED_SIZE = 50
HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
STATES = ("open", "evaluation", "awarded", "completed", "all")
FEED_NAMESPACE = uuid.UUID("6f1c7a1e-5b1e-4a53-9c1d-2f0f6c3e9b10")

SECURITY_HEADERS = {
    # No script at all, styles from the board only, forms only to the board.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@dataclass
class Page:
    status: int
    body: str
    media_type: str = HTML
    headers: dict = field(default_factory=dict)
    pages: int = 1  # of a list: how many pages the search has


class Board:
    """Every page of the board, from the database, for one way of publishing (`Site`)."""

    def __init__(self, engine: Engine, per_page: int = PER_PAGE, feed_size: int = FEED_SIZE):
        self._engine = engine
        self._reader: Optional[Engine] = None
        self.per_page = per_page
        self.feed_size = feed_size

    @property
    def engine(self) -> Engine:
        """The reading engine, made at the first page (many apps never serve one)."""
        if self._reader is None:
            self._reader = store.reader(self._engine)
        return self._reader

    # ------------------------------------------------------------ HTML

    def home(self, site: Site) -> Page:
        return Page(200, render("web/home.html", "en", links=Links(site, site.home())))

    def not_found(self, lang: str, site: Site, here: str) -> Page:
        return self._problem(404, lang, site, here, "not_found")

    def _problem(self, status: int, lang: str, site: Site, here: str, kind: str, names: tuple = ()) -> Page:
        body = render("web/problem.html", lang, links=Links(site, here), other_url=Links(site, here).list(OTHER[lang]), kind=kind, names=names, static=site.static)
        return Page(status, body)

    def listing(self, lang: str, params: Mapping[str, str], site: Site, alerts=None) -> Page:
        """`alerts`: the alert form to show (bot.web.alerts.alerts_form); none in the static export."""
        try:
            filters = parse_filters(params)
        except FilterError as error:
            here = site.list(lang, error.filters)
            return Page(400, self._list_html(lang, site, here, error.filters, [], 0, errors=error.names, alerts=alerts))
        here = site.list(lang, filters, filters.page)
        with Session(self.engine) as session:
            listings, total = store.page(session, filters.search, self.per_page, (filters.page - 1) * self.per_page)
        if filters.page > 1 and not listings:
            return self.not_found(lang, site, here)
        return Page(200, self._list_html(lang, site, here, filters, listings, total, alerts=alerts), pages=_pages(total, self.per_page))

    def _list_html(self, lang, site, here, filters: Filters, listings, total, errors=(), alerts=None) -> str:
        links = Links(site, here)
        pages = _pages(total, self.per_page)
        return render(
            "web/list.html",
            lang,
            alerts=alerts,
            links=links,
            static=site.static,
            filters=filters,
            listings=listings,
            total=total,
            page=filters.page,
            pages=pages,
            states=STATES,
            errors=list(errors),
            other_url=links.list(OTHER[lang], filters, filters.page),
        )

    def detail(self, lang: str, owner: str, repo: str, number: str, site: Site) -> Page:
        record = self._record(owner, repo, number)
        if record is None:
            return self.not_found(lang, site, site.detail(lang, f"{owner}/{repo}", 0))
        o = record.listing
        here = site.detail(lang, o.repository, o.number)
        links = Links(site, here)
        body = render("web/detail.html", lang, links=links, static=site.static, record=record, o=o, other_url=links.detail(OTHER[lang], o.repository, o.number))
        return Page(200, body)

    def _record(self, owner: str, repo: str, number: str) -> Optional[store.Record]:
        if not (number.isascii() and number.isdigit()) or len(number) > 9:
            return None
        with Session(self.engine) as session:
            return store.record(session, f"{owner}/{repo}", int(number))

    # ------------------------------------------------------------ Atom

    def feed(self, lang: str, params: Mapping[str, str], site: Site) -> Page:
        try:
            filters = parse_filters({k: v for k, v in params.items() if k != "page"})
        except FilterError as error:
            return self._problem(400, lang, site, site.feed(lang, error.filters), "bad_filter", tuple(error.names))
        with Session(self.engine) as session:
            listings = store.newest(session, filters.search, self.feed_size)
        updated = max((o.updated_at for o in listings), default=EPOCH)
        body = render(
            "web/feed.atom",
            lang,
            filters=filters,
            listings=listings,
            updated=updated,
            feed_id="urn:uuid:" + str(uuid.uuid5(FEED_NAMESPACE, f"{lang}{filters.query()}")),
            self_url=site.absolute(site.feed(lang, filters)),
            board_url=site.absolute(site.list(lang, filters)),
            entry_url=lambda o: site.absolute(site.detail(lang, o.repository, o.number)),
        )
        return Page(200, body, ATOM)

    # ------------------------------------------------------------ JSON

    def api_list(self, params: Mapping[str, str], site: Site) -> Page:
        try:
            filters = parse_filters(params)
        except FilterError as error:
            return Page(400, api.dumps({"error": "bad_filter", "filters": error.names}), JSON)
        with Session(self.engine) as session:
            listings, total = store.page(session, filters.search, self.per_page, (filters.page - 1) * self.per_page)
        if filters.page > 1 and not listings:
            return Page(404, api.dumps({"error": "not_found"}), JSON)
        pages = _pages(total, self.per_page)
        here = site.api_list(filters, filters.page)
        wanted = {"self": filters.page, "first": 1, "last": pages}
        if filters.page > 1:
            wanted["prev"] = filters.page - 1
        if filters.page < pages:
            wanted["next"] = filters.page + 1
        nav = {rel: self._link(site, here, site.api_list(filters, n)) for rel, n in wanted.items()}
        body = {
            "opportunities": [api.listing(o, self._entry_links(site, here, o.repository, o.number)) for o in listings],
            "page": filters.page,
            "per_page": self.per_page,
            "pages": pages,
            "total": total,
            "links": nav,
        }
        header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in nav.items() if rel != "self")
        return Page(200, api.dumps(body), JSON, {"Link": header}, pages=pages)

    def api_detail(self, owner: str, repo: str, number: str, site: Site) -> Page:
        record = self._record(owner, repo, number)
        if record is None:
            return Page(404, api.dumps({"error": "not_found"}), JSON)
        o = record.listing
        here = site.api_detail(o.repository, o.number)
        return Page(200, api.dumps(api.record(record, self._entry_links(site, here, o.repository, o.number))), JSON)

    def _link(self, site: Site, here: str, target: str) -> str:
        """Absolute where the board's address is known (JSON is read anywhere), else relative."""
        return site.absolute(target) or relative(target, here)

    def _entry_links(self, site: Site, here: str, repository: str, number: int) -> dict:
        pages = {lang: self._link(site, here, site.detail(lang, repository, number)) for lang in LANGUAGES}
        return {"html": pages, "api": self._link(site, here, site.api_detail(repository, number))}

    def listed(self) -> list[tuple[str, int]]:
        with Session(self.engine) as session:
            return store.listed(session)


def _pages(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


# ---------------------------------------------------------------- HTTP


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(header: Optional[str], etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): W/ is ignored."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in (t[2:] if t.startswith("W/") else t for t in tags)


def respond(request: Request, page: Page) -> Response:
    body = page.body.encode("utf-8")
    headers = dict(SECURITY_HEADERS)
    headers.update(page.headers)
    if page.status == 200:
        etag = etag_of(body)
        headers.update({"ETag": etag, "Cache-Control": "public, max-age=60"})
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    else:
        headers["Cache-Control"] = "no-store"
    return Response(body, status_code=page.status, media_type=page.media_type, headers=headers)


def _to_folder(lang: str):
    async def redirect(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(f"{lang}/" + (f"?{query}" if query else ""), status_code=308)

    return redirect


def routes(engine: Engine, settings=None, board: Optional[Board] = None) -> list[Route]:
    """The board's routes, to mount next to `POST /webhooks` (`create_app(routes=...)`)."""
    board = board or Board(engine)
    public_url = getattr(settings, "public_url", None)
    stylesheet = (WEB / "static" / "board.css").read_bytes()

    def site_for(request: Request) -> Site:
        return Site(static=False, base_url=public_url or str(request.base_url))

    def serve(make: Callable[[Request, Site], Page]):
        async def endpoint(request: Request) -> Response:
            site = site_for(request)
            page = await anyio.to_thread.run_sync(lambda: make(request, site))
            return respond(request, page)

        return endpoint

    async def css(request: Request) -> Response:
        etag = etag_of(stylesheet)
        headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(stylesheet, media_type="text/css; charset=utf-8", headers=headers)

    def listing(lang: str):
        """The list, with the alert form: its cross-site token is bound to this
        browser's cookie, so the page is private to it (never in a shared cache)."""

        async def endpoint(request: Request) -> Response:
            site = site_for(request)
            form = alerts_form(request, settings, lang) if settings is not None else None
            page = await anyio.to_thread.run_sync(lambda: board.listing(lang, params(request), site, alerts=form))
            response = respond(request, page)
            if form is not None:
                if "cache-control" in response.headers:
                    response.headers["Cache-Control"] = "private, max-age=60"
                response.headers["Vary"] = "Cookie"
                form.set_cookie(response)
            return response

        return endpoint

    def params(request: Request) -> dict:
        return dict(request.query_params)

    def path(request: Request, name: str) -> str:
        return request.path_params[name]

    found = [
        Route("/", serve(lambda r, s: board.home(s)), methods=["GET"]),
        Route("/static/board.css", css, methods=["GET"]),
        Route("/api/opportunities", serve(lambda r, s: board.api_list(params(r), s)), methods=["GET"]),
        Route(
            "/api/opportunities/{owner}/{repo}/{number}",
            serve(lambda r, s: board.api_detail(path(r, "owner"), path(r, "repo"), path(r, "number"), s)),
            methods=["GET"],
        ),
    ]
    for lang in LANGUAGES:
        found += [
            Route(f"/{lang}", _to_folder(lang), methods=["GET"]),
            Route(f"/{lang}/", listing(lang), methods=["GET"]),
            Route(f"/{lang}/feed.atom", serve(lambda r, s, lang=lang: board.feed(lang, params(r), s)), methods=["GET"]),
            Route(
                f"/{lang}/opportunities/{{owner}}/{{repo}}/{{number}}",
                serve(lambda r, s, lang=lang: board.detail(lang, path(r, "owner"), path(r, "repo"), path(r, "number"), s)),
                methods=["GET"],
            ),
        ]
    return found
