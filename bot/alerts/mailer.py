"""The mailer: sends the mail outbox, at most once per row, retried with backoff, never dropped.

Three steps, as the GitHub sender does, so that no transaction (on SQLite, not
the write lock) is held while the mail server answers: due rows are claimed
(`FOR UPDATE SKIP LOCKED`), rendered and leased (not due again for
`DEVEX_MAIL_LEASE` seconds, so another mailer process leaves them alone); they
are sent over one SMTP connection; what the server answered is recorded. A
row the server did not take stays pending and is tried again later; a row
that is no longer wanted when its turn comes (unsubscribed, expired, the
opportunity closed) is cancelled, not sent.

The one case that can send a message twice is a crash after the server took it
and before that was recorded: after the lease it is sent again with the same
`Message-ID`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Callable, Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.alerts import letters, tokens
from bot.alerts.smtp import Failure, SmtpTransport
from bot.alerts.subscriptions import CONFIRMATION_SPACING, housekeeping
from bot.settings import Settings
from storage import alerts as store
from storage.tables import MailMessage, utcnow

log = logging.getLogger(__name__)

BATCH = 20  # messages over one SMTP connection
HOUSEKEEPING_INTERVAL = timedelta(minutes=1)


@dataclass
class Outgoing:
    message_id: int
    kind: str
    to: str
    message: EmailMessage


class Mailer:
    def __init__(self, engine: Engine, settings: Settings, transport=None, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.settings = settings
        self.transport = transport or SmtpTransport(settings.smtp_url)
        self.clock = clock
        self._housekept: Optional[datetime] = None
        self.all_failed = False  # the last batch: the server took none of it

    def _backoff(self, attempts: int) -> float:
        return min(self.settings.mail_retry_cap, self.settings.mail_retry_base * 2 ** min(max(0, attempts), 30))

    def run_once(self) -> int:
        """Sends one batch of due messages; how many rows it settled or tried."""
        now = self.clock()
        self._housekeeping(now)
        settled, outgoing = self._claim(now)
        self.all_failed = False
        if outgoing:
            results = self.transport.send(letters.envelope_sender(self.settings), [(o.to, o.message) for o in outgoing])
            self._record(outgoing, results, now)
            self.all_failed = all(r is not None for r in results)
        return settled + len(outgoing)

    def _housekeeping(self, now: datetime) -> None:
        if self._housekept is not None and now - self._housekept < HOUSEKEEPING_INTERVAL:
            return
        with Session(self.engine) as session:
            housekeeping(session, now)
            session.commit()
        self._housekept = now

    # -- 1. claim, render and lease

    def _claim(self, now: datetime) -> tuple[int, list[Outgoing]]:
        settled, outgoing = 0, []
        with Session(self.engine, expire_on_commit=False) as session:
            for row in store.claim_due(session, now, self.settings.mail_lease, BATCH):
                try:
                    ready = self._prepare(session, row, now)
                except Exception as error:  # a message that cannot be rendered waits, and says why
                    log.exception("mail %s could not be prepared", row.id)
                    store.mark_retry(session, row, f"{type(error).__name__}: {error}", self._backoff(row.attempts), now)
                    settled += 1
                    continue
                if ready is None:
                    settled += 1
                else:
                    outgoing.append(ready)
            session.commit()
        return settled, outgoing

    def _prepare(self, session: Session, row: MailMessage, now: datetime) -> Optional[Outgoing]:
        """What to send for a row, or None when it is settled (cancelled or put off) instead."""
        subscription = store.subscription(session, row.subscription_id)
        if row.kind == "confirm":
            if subscription is None or subscription.status != "pending" or not subscription.email:
                return self._cancel(session, row, "no longer waiting for confirmation", now)
            if subscription.created_at + tokens.CONFIRM_TTL <= now:
                return self._cancel(session, row, "expired", now)
            limit = store.address(session, row.address_hash)
            if limit is not None and limit.last_sent_at is not None and limit.last_sent_at > now - CONFIRMATION_SPACING:
                row.next_attempt_at = limit.last_sent_at + CONFIRMATION_SPACING  # an hour after the last one
                session.add(row)
                return None
            replaces = store.has_confirmed(session, row.address_hash)
            message = letters.confirmation(self.settings, row, subscription, now, replaces)
        else:
            if subscription is None or subscription.status != "confirmed" or not subscription.email:
                return self._cancel(session, row, "no longer subscribed", now)
            opportunity = store.opportunity(session, row.opportunity_id)
            if opportunity is None or opportunity.state != "open" or (opportunity.deadline is not None and opportunity.deadline <= now):
                return self._cancel(session, row, "the opportunity is no longer open", now)
            message = letters.alert(self.settings, row, subscription, opportunity, now)
        return Outgoing(message_id=row.id, kind=row.kind, to=subscription.email, message=message)

    def _cancel(self, session: Session, row: MailMessage, reason: str, now: datetime) -> None:
        store.mark_settled(session, row, "cancelled", reason, now)
        log.info("mail %s (%s) not sent: %s", row.id, row.kind, reason)
        return None

    # -- 3. record what the server answered

    def _record(self, outgoing: list[Outgoing], results: list[Optional[Failure]], now: datetime) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = store.reload(session, [o.message_id for o in outgoing])
            for sent, failure in zip(outgoing, results):
                row = rows[sent.message_id]
                if failure is None:
                    # Sent, even if it was cancelled meanwhile: the record says what happened.
                    store.mark_sent(session, row, now)
                    if row.kind == "confirm":
                        store.confirmation_sent(session, row.address_hash, now)
                    log.info("mail %s (%s) sent", row.id, row.kind)
                elif row.status != "pending":
                    continue
                elif failure.permanent:
                    store.mark_settled(session, row, "refused", failure.reason, now)
                    store.end_address(session, row.address_hash, "refused", now)
                    log.warning("mail %s (%s) refused for good: %s; the address is forgotten", row.id, row.kind, failure.reason)
                else:
                    wait = self._backoff(row.attempts)
                    store.mark_retry(session, row, failure.reason, wait, now)
                    log.warning("mail %s (%s) not sent (%s); retry in %.1fs", row.id, row.kind, failure.reason, wait)
            session.commit()

    def drain(self, limit: int = 10000) -> int:
        """Sends until nothing is due, or until the server takes nothing."""
        done = 0
        while done < limit:
            step = self.run_once()
            done += step
            if not step or self.all_failed:
                break
        return done

    def run_forever(self, stop: threading.Event) -> None:
        log.info("mailer started (every %.1fs)", self.settings.mail_interval)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("mailer: trouble; retrying")
                busy = 0
            if not busy:
                stop.wait(self.settings.mail_interval)
        log.info("mailer stopped")
