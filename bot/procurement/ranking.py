"""Scores and ranking (PRODUCT.md "Scores and ranking")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Optional


@dataclass(frozen=True)
class Ranked:
    bidder: str
    amount: Decimal
    submitted_at: datetime
    average: Optional[Decimal]  # None: not scored
    scores: dict[str, int]  # evaluator -> latest score
    rank: int = 0


def latest_scores(history: Iterable[tuple[str, int, datetime]]) -> dict[str, int]:
    """Each evaluator's latest score, from (evaluator, score, scored_at) rows."""
    latest: dict[str, tuple[datetime, int]] = {}
    for evaluator, score, at in history:
        key = evaluator.lower()
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, score)
    return {k: v[1] for k, v in latest.items()}


def average(scores: dict[str, int]) -> Optional[Decimal]:
    if not scores:
        return None
    total = Decimal(sum(scores.values())) / Decimal(len(scores))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rank(entries: Iterable[Ranked]) -> list[Ranked]:
    """Highest average first; ties to the lower amount, then the earlier submission; unscored last."""
    ordered = sorted(
        entries,
        key=lambda e: (e.average is None, -(e.average or 0), e.amount, e.submitted_at, e.bidder.lower()),
    )
    return [Ranked(e.bidder, e.amount, e.submitted_at, e.average, e.scores, i + 1) for i, e in enumerate(ordered)]


def split_contract(value: Decimal, award: Decimal, milestones: list[Decimal]) -> list[Decimal]:
    """Each milestone's share of an award below the value: proportional, to the cent,
    the last milestone taking the remainder so the shares add up to the award exactly."""
    if not milestones:
        return []
    shares = [(m * award / value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for m in milestones[:-1]]
    shares.append(award - sum(shares, Decimal("0.00")))
    return shares
