"""The harness with GitHub's side of webhook delivery (demo.github.deliveries): the app
can be stopped while GitHub records failed attempts, and recovered. Not a test module."""

from __future__ import annotations

from typing import Optional

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.pipeline.recovery import Recovery
from demo.github.deliveries import HookDeliveries
from storage.tables import AuditEvent
from tests.conftest import SECRET


@pytest.fixture
def hooks(harness) -> HookDeliveries:
    return HookDeliveries(harness.sim, SECRET, send=lambda headers, body: harness.post("", body, headers).status_code)


def recovery(harness, engine=None, interval: float = 300) -> Recovery:
    return Recovery(engine or harness.engine, harness.github.call_as_app, interval, clock=harness.clock)


def run(harness, hooks: HookDeliveries, rounds: int = 30) -> None:
    """The app at work (worker, scheduler, sender); GitHub's webhooks for its own
    actions go through `hooks`, so they fail too while the app is down."""
    for _ in range(rounds):
        harness.runtime.scheduler.run_once()
        worked = harness.runtime.worker.drain()
        sent = harness.runtime.sender.drain()
        echoed = harness.sim.pop_events()
        for event, data in echoed:
            hooks.deliver(event, data)
        if not worked and not sent and not echoed:
            return


def recover(harness, hooks: HookDeliveries, engine=None):
    """A recovery pass, GitHub's redeliveries, and the app's work on them."""
    report = recovery(harness, engine).run_once()
    hooks.flush()
    run(harness, hooks)
    return report


def stored_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT delivery_id FROM deliveries ORDER BY id"))]


def audit_kinds(engine, kind: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all())


def opportunity_id(engine, number: int) -> Optional[int]:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM opportunities WHERE issue_number = :n"), {"n": number}).scalar()
