"""The scheduler: time passing is an event too.

It does not change opportunities itself. It stores an internal delivery
(`devex.deadline`, `devex.overdue`) in the inbox with the issue's ordering
key, so the worker applies it in order with that issue's webhooks, exactly
once: the delivery id names the opportunity and the deadline (or payment),
so several processes scheduling at once store it once.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import inbox, procurement
from storage.inbox import NewDelivery
from storage.tables import utcnow

log = logging.getLogger(__name__)


def _internal(kind: str, key: str, opportunity, extra: dict) -> NewDelivery:
    payload = {
        "opportunity_id": opportunity.id,
        "repository": {"full_name": opportunity.repository},
        "issue": {"number": opportunity.issue_number},
        "installation": {"id": opportunity.installation_id},
        **extra,
    }
    return NewDelivery(
        delivery_id=f"devex:{kind}:{key}",
        event=f"devex.{kind}",
        action=None,
        installation_id=opportunity.installation_id,
        repository=opportunity.repository,
        ordering_key=f"{opportunity.repository}#{opportunity.issue_number}",
        payload=json.dumps(payload),
    )


class Scheduler:
    def __init__(self, engine: Engine, interval: float, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.interval = interval
        self.clock = clock

    def run_once(self) -> int:
        """Stores the internal deliveries now due; returns how many were new."""
        now = self.clock()
        stored = 0
        with Session(self.engine, expire_on_commit=False) as session:
            for opportunity in procurement.open_past_deadline(session, now):
                key = f"{opportunity.id}:{opportunity.deadline.isoformat()}"
                stored += inbox.store(session, _internal("deadline", key, opportunity, {}), now)
            for payment, opportunity in procurement.overdue_unnotified(session, now):
                stored += inbox.store(session, _internal("overdue", str(payment.id), opportunity, {"payment_id": payment.id}), now)
            session.commit()
        return stored

    def run_forever(self, stop: threading.Event) -> None:
        log.info("scheduler started (every %.1fs)", self.interval)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("scheduler: trouble; retrying")
            stop.wait(self.interval)
