"""The contract-value guard counts cents exactly on both databases.

SQLite stores NUMERIC as floating point: summed as floats, 9,390.79 + 472.84
comes out above 9,863.63, and the database refused the last milestone of a
contract of exactly that value (migration 0003 makes SQLite's guard add whole
cents). Each case here pays a whole contract in amounts whose float sum
overshoots it, then one cent more.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage import procurement as store
from storage.tables import Milestone, Opportunity, Payment
from tests.conftest import REPO

NOW = datetime(2026, 11, 2, 15, tzinfo=timezone.utc)


def contract(engine, amounts: list[str]) -> tuple[int, list[int]]:
    """An awarded opportunity whose contract value is the sum of `amounts`, one milestone each, and one spare."""
    value = sum(Decimal(a) for a in amounts)
    with Session(engine, expire_on_commit=False) as session:
        opportunity = Opportunity(
            installation_id=77,
            repository=REPO,
            issue_number=1,
            title="Speed up the build",
            html_url=f"https://github.com/{REPO}/issues/1",
            author="pm-alice",
            state="awarded",
            value=value,
            contractor="dev-carol",
            contract_value=value,
        )
        store.save(session, opportunity)
        milestones = [
            Milestone(opportunity_id=opportunity.id, position=i + 1, name=f"M{i + 1}", amount=Decimal(a), contract_amount=Decimal(a))
            for i, a in enumerate([*amounts, "0.01"])
        ]
        store.save(session, *milestones)
        session.commit()
        return opportunity.id, [m.id for m in milestones]


def pay(engine, opportunity_id: int, milestone_id: int, amount: str) -> None:
    with Session(engine) as session:
        session.add(
            Payment(
                opportunity_id=opportunity_id,
                milestone_id=milestone_id,
                contractor="dev-carol",
                amount=Decimal(amount),
                pull_request_url=f"https://github.com/{REPO}/pull/{milestone_id}",
                pull_request_number=milestone_id,
                merged_at=NOW,
                due_at=NOW + timedelta(days=30),
            )
        )
        session.commit()


@pytest.mark.parametrize(
    "amounts",
    [
        ["9390.79", "472.84"],
        ["5677.13", "48.27"],
        ["0.10", "0.20"],
        ["2082.13", "789.67", "1215.94"],
    ],
)
def test_a_contract_is_payable_to_the_cent_and_not_one_cent_more(engine, amounts):
    assert sum(float(a) for a in amounts) > float(sum(Decimal(a) for a in amounts))  # floats overshoot
    opportunity_id, milestones = contract(engine, amounts)
    for milestone_id, amount in zip(milestones, amounts):
        pay(engine, opportunity_id, milestone_id, amount)
    with pytest.raises(DBAPIError, match="exceed the contract value"):
        pay(engine, opportunity_id, milestones[-1], "0.01")
