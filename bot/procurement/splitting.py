"""Contract splitting (PRODUCT.md "Finance and governance"): several small awards to one
contractor by one organization that together pass the value cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable


@dataclass(frozen=True)
class PriorAward:
    award_id: int
    organization: str  # the owner of the opportunity's repository
    contractor: str
    amount: Decimal
    approved_at: datetime


def organization_of(repository: str) -> str:
    return repository.split("/", 1)[0].lower()


def counted(prior: Iterable[PriorAward], *, organization: str, contractor: str, now: datetime, window_days: int) -> list[PriorAward]:
    """The approved awards that count: same organization, same contractor, approved within the window."""
    since = now - timedelta(days=window_days)
    return [
        p
        for p in prior
        if p.organization.lower() == organization.lower() and p.contractor.lower() == contractor.lower() and since <= p.approved_at <= now
    ]


def flagged(prior: list[PriorAward], amount: Decimal, cap: Decimal) -> bool:
    """The awards of the window and this one together pass the cap (equal to it does not)."""
    return bool(prior) and sum((p.amount for p in prior), Decimal("0")) + amount > cap
