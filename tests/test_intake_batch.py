"""Intake's batch insert (storage.inbox.store_many, SQL compiled once per batch size)
stores exactly what the ORM reads back: the times in the column's own form (so the
worker's claim, which compares them, finds the delivery due), every field, and one
row per delivery id however many times it comes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.pipeline.intake import IntakeWriter
from storage import inbox
from storage.inbox import NewDelivery
from storage.tables import utcnow


def _delivery(i: int, payload: str = '{"zen": "é"}') -> NewDelivery:
    return NewDelivery(f"batch-{i}", "issue_comment", "created", 77, "octo-org/procurement", f"octo-org/procurement#{i % 3}", payload)


def test_a_batch_is_stored_as_the_orm_reads_it_and_claimed_in_order(engine):
    now = utcnow()
    writer = IntakeWriter(engine, clock=lambda: now)
    batch = [_delivery(i) for i in range(7)] + [_delivery(2)]  # a repeat inside the batch

    async def together():
        return await asyncio.gather(*(writer.store(d) for d in batch))

    assert asyncio.run(together()) == [True] * 7 + [False]
    with Session(engine) as session:
        stored = {d.delivery_id: d for d in session.exec(sa.select(inbox.Delivery)).scalars()}
        assert sorted(stored) == sorted(f"batch-{i}" for i in range(7))
        row = stored["batch-4"]
        assert (row.event, row.action, row.installation_id, row.repository, row.ordering_key, row.payload) == (
            "issue_comment", "created", 77, "octo-org/procurement", "octo-org/procurement#1", '{"zen": "é"}'
        )
        assert row.status == "pending" and row.attempts == 0
        assert row.received_at == now and row.next_attempt_at == now and row.received_at.tzinfo is not None
        # Not due a moment before it was received; due at once after.
        assert inbox.claim(session, now - timedelta(seconds=1), limit=10) == []
        claimed = inbox.claim(session, now + timedelta(seconds=1), limit=10)
        # The oldest of each of the three ordering keys.
        assert [d.delivery_id for d in claimed] == ["batch-0", "batch-1", "batch-2"]


def test_batches_of_every_size_store_each_delivery_once(engine):
    seen: set[str] = set()
    for size in (3, 1, 2, 5, 40):
        batch = [_delivery(i) for i in range(size)] + [_delivery(100 + size)]
        with engine.begin() as connection:
            results = inbox.store_many(connection, batch)
        assert results == [d.delivery_id not in seen for d in batch]
        seen.update(d.delivery_id for d in batch)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() == len(seen) == 45
