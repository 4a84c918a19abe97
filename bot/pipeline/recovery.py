"""Missed deliveries: ask GitHub again for what it failed to deliver.

GitHub does not redeliver a webhook that failed (the app was down, or answered
late or with an error); it keeps its attempts for three days and lets the App
ask for them again. A pass, with the App's JWT:

1. reads `GET /app/hook/deliveries` (newest first, 100 a page, the `Link`
   header's `rel="next"` cursor) back to a little before the newest attempt the
   last pass saw, and never more than three days;
2. groups the attempts by GUID (the `X-GitHub-Delivery` the inbox keys on) and
   keeps those with no successful (2xx) attempt that are not in the inbox;
3. asks `POST /app/hook/deliveries/{id}/attempts` for each, oldest first (so an
   issue's deliveries arrive again in their order), once: the GUID is claimed in
   the database first, so two processes on one database ask once between them,
   and a GUID is asked for again only after a new failure (GitHub's redelivery
   failed too), at most `MAX_REQUESTS` times.

GitHub refusing one (422: older than three days) is logged and the pass goes
on. What GitHub redelivers is stored and applied like any delivery: exactly
once, in its issue's order. `Recovery.run_forever` runs a pass at start and
then every `DEVEX_RECOVERY_INTERVAL` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.github.client import Answer, GitHubError
from storage import recovery as store
from storage.tables import utcnow

log = logging.getLogger(__name__)

DELIVERIES = "/app/hook/deliveries"
PER_PAGE = 100
# GitHub keeps (and redelivers) three days of attempts; keep clear of that edge.
LOOKBACK = timedelta(days=3)
EDGE = timedelta(minutes=5)
# Read this far behind the newest attempt the last pass saw: GitHub lists an
# attempt once it has ended, stamped with the time it began.
OVERLAP = timedelta(minutes=15)
# A guard against a list that never ends (100 a page: 200,000 attempts).
MAX_PAGES = 2000
# A GUID is asked for again only after a new failure, and at most this often.
MAX_REQUESTS = 3

AppCall = Callable[..., Answer]  # (method, path, json=None, params=None) as the App


@dataclass(frozen=True)
class Attempt:
    """One entry of `GET /app/hook/deliveries`: one attempt to deliver one GUID."""

    id: int
    guid: str
    delivered_at: datetime
    status_code: int
    status: str
    redelivery: bool
    event: Optional[str]
    action: Optional[str]

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass
class Missed:
    """A GUID none of whose attempts succeeded."""

    guid: str
    attempts: list[Attempt]

    @property
    def first(self) -> Attempt:
        return min(self.attempts, key=lambda a: (a.delivered_at, a.id))

    @property
    def last(self) -> Attempt:
        return max(self.attempts, key=lambda a: (a.delivered_at, a.id))

    def describe(self) -> str:
        first = self.first
        what = first.event + (f".{first.action}" if first.action else "") if first.event else "?"
        return f"{self.guid} ({what}, first attempted {first.delivered_at.isoformat()}, {len(self.attempts)} failed attempt(s), last: {self.last.status or self.last.status_code})"


@dataclass
class PassReport:
    since: Optional[datetime] = None
    skipped: bool = False  # another process was running a pass
    pages: int = 0
    attempts: int = 0
    complete: bool = True  # read back to `since`
    missed: int = 0
    already_stored: list[str] = field(default_factory=list)
    already_requested: list[str] = field(default_factory=list)
    requested: list[Missed] = field(default_factory=list)
    refused: list[tuple[Missed, str]] = field(default_factory=list)
    failed: list[tuple[Missed, str]] = field(default_factory=list)


def _time(value) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def attempt_from(item) -> Optional[Attempt]:
    """An entry as GitHub lists it, or None when it is not one."""
    if not isinstance(item, dict):
        return None
    delivered_at = _time(item.get("delivered_at"))
    ident, guid, code = item.get("id"), item.get("guid"), item.get("status_code")
    if delivered_at is None or not isinstance(ident, int) or not isinstance(guid, str) or not guid:
        return None
    return Attempt(
        id=ident,
        guid=guid,
        delivered_at=delivered_at,
        status_code=code if isinstance(code, int) else 0,
        status=item.get("status") if isinstance(item.get("status"), str) else "",
        redelivery=bool(item.get("redelivery")),
        event=item.get("event") if isinstance(item.get("event"), str) else None,
        action=item.get("action") if isinstance(item.get("action"), str) else None,
    )


def next_cursor(headers: dict) -> Optional[str]:
    """The `cursor` of the `Link` header's `rel="next"`, or None on the last page."""
    link = next((v for k, v in headers.items() if k.lower() == "link"), None)
    if not link:
        return None
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' not in params.replace(" ", ""):
            continue
        query = parse_qs(urlsplit(target.strip().strip("<>")).query)
        cursors = query.get("cursor")
        return cursors[0] if cursors else None
    return None


class Recovery:
    def __init__(self, engine: Engine, app_call: AppCall, interval: float, *, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.app_call = app_call
        self.interval = interval
        self.clock = clock

    # -- one pass

    def run_once(self, since: Optional[datetime] = None) -> PassReport:
        """One pass (or none, when another process is running one); raises GitHubError
        when GitHub cannot be read or refuses the app's credentials."""
        with store.exclusive_pass(self.engine) as mine:
            if not mine:
                log.info("recovery: another process is running a pass; this one is skipped")
                return PassReport(skipped=True)
            return self._pass(since)

    def _window(self, since: Optional[datetime], now: datetime) -> datetime:
        floor = now - LOOKBACK + EDGE
        if since is not None:
            return max(since, floor)
        with Session(self.engine) as session:
            mark = store.mark(session)
        if mark is None:
            return floor  # the first pass ever: everything GitHub still keeps
        return max(mark.newest_delivered_at - OVERLAP, floor)

    def _read(self, since: datetime, report: PassReport) -> list[Attempt]:
        attempts: list[Attempt] = []
        cursor: Optional[str] = None
        while True:
            params = {"per_page": PER_PAGE, **({"cursor": cursor} if cursor else {})}
            answer = self.app_call("GET", DELIVERIES, params=params)
            report.pages += 1
            page = [a for a in map(attempt_from, answer.data if isinstance(answer.data, list) else []) if a is not None]
            attempts.extend(a for a in page if a.delivered_at >= since)
            cursor = next_cursor(answer.headers)
            if not page or cursor is None or min(a.delivered_at for a in page) < since:
                break
            if report.pages >= MAX_PAGES:
                report.complete = False
                log.warning("recovery: stopped after %d pages, before reaching %s", report.pages, since.isoformat())
                break
        report.attempts = len(attempts)
        return attempts

    def _pass(self, since: Optional[datetime]) -> PassReport:
        now = self.clock()
        report = PassReport(since=self._window(since, now))
        attempts = self._read(report.since, report)
        by_guid: dict[str, list[Attempt]] = defaultdict(list)
        for attempt in attempts:
            by_guid[attempt.guid].append(attempt)
        missed = [Missed(guid, group) for guid, group in by_guid.items() if not any(a.succeeded for a in group)]
        missed.sort(key=lambda m: (m.first.delivered_at, m.first.id))
        report.missed = len(missed)
        with Session(self.engine) as session:
            stored = store.stored_among(session, [m.guid for m in missed])
        for delivery in missed:
            if delivery.guid in stored:
                report.already_stored.append(delivery.guid)
                continue
            self._recover(delivery, report)
        # Not reached when the pass stopped half-way: the next one reads the same
        # window again, and the claims keep it from asking twice.
        self._advance(attempts, report, now)
        log.info(
            "recovery: read %d attempt(s) on %d page(s) back to %s: %d missed, %d already stored, %d already asked for, "
            "%d redelivery asked, %d refused, %d not asked (GitHub failed)",
            report.attempts, report.pages, report.since.isoformat(), report.missed, len(report.already_stored),
            len(report.already_requested), len(report.requested), len(report.refused), len(report.failed),
        )  # fmt: skip
        return report

    def _recover(self, delivery: Missed, report: PassReport) -> None:
        last = delivery.last
        with Session(self.engine) as session:
            mine = store.claim(
                session,
                guid=delivery.guid,
                hook_delivery_id=last.id,
                event=delivery.first.event,
                action=delivery.first.action,
                first_delivered_at=delivery.first.delivered_at,
                last_attempt_at=last.delivered_at,
                now=self.clock(),
                max_requests=MAX_REQUESTS,
            )
            session.commit()
        if not mine:
            report.already_requested.append(delivery.guid)
            return
        try:
            self.app_call("POST", f"{DELIVERIES}/{last.id}/attempts")
        except GitHubError as error:
            lasting = error.status is not None and 400 <= error.status < 500 and not error.retryable and not error.authentication
            self._settle(delivery.guid, "refused" if lasting else "failed", str(error))
            if lasting:
                report.refused.append((delivery, str(error)))
                log.warning("recovery: GitHub refused to redeliver %s: %s", delivery.describe(), error)
                return
            report.failed.append((delivery, str(error)))
            if error.authentication:
                raise  # every other request would be refused the same way
            log.warning("recovery: could not ask GitHub to redeliver %s: %s; asked again next pass", delivery.describe(), error)
            return
        self._settle(delivery.guid, "requested")
        report.requested.append(delivery)
        log.info("recovery: asked GitHub to redeliver %s", delivery.describe())

    def _settle(self, guid: str, status: str, detail: Optional[str] = None) -> None:
        with Session(self.engine) as session:
            store.settle(session, guid, status, detail)
            session.commit()

    def _advance(self, attempts: list[Attempt], report: PassReport, now: datetime) -> None:
        """The next pass reads back to about the newest attempt seen, but never past a
        GUID this pass failed to ask for, nor past pages it did not read."""
        if not attempts or not report.complete:
            return
        newest = max(attempts, key=lambda a: (a.delivered_at, a.id))
        until = newest.delivered_at
        for delivery, _ in report.failed:
            until = min(until, delivery.first.delivered_at)
        with Session(self.engine) as session:
            store.advance_mark(session, until, newest.id, now)
            session.commit()

    # -- the loop beside the scheduler

    def run_forever(self, stop: threading.Event) -> None:
        log.info("recovery started (every %.0fs)", self.interval)
        while not stop.is_set():
            try:
                self.run_once()
            except GitHubError as error:
                if error.authentication:
                    log.error("recovery: %s; trying again in %.0fs", error, self.interval)
                else:
                    log.warning("recovery: could not read GitHub's deliveries (%s); trying again in %.0fs", error, self.interval)
            except Exception:
                log.exception("recovery: trouble; trying again in %.0fs", self.interval)
            stop.wait(self.interval)
        log.info("recovery stopped")
