"""Where each proposal stands: its evaluators' latest scores, their average, its rank.

The rules are PRODUCT.md "Scores and ranking" (`bot.procurement.ranking`);
this module gathers the facts from storage for the evaluation commands and
the award-review issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from sqlmodel import Session

from bot.procurement import ranking
from storage import procurement as store
from storage.tables import Proposal, Score


@dataclass(frozen=True)
class Standing:
    proposal: Proposal
    latest: tuple[Score, ...]  # each evaluator's latest score, oldest evaluator first
    history: tuple[Score, ...]  # every score given, replaced ones included
    average: Optional[Decimal]  # None: not scored
    rank: Optional[int]  # None: withdrawn, not ranked

    @property
    def bidder(self) -> str:
        return self.proposal.bidder

    @property
    def live(self) -> bool:
        return self.proposal.status == "live"


def standings(session: Session, opportunity_id: int) -> list[Standing]:
    """Live proposals by rank, then withdrawn ones in the order they came."""
    history: dict[int, list[Score]] = {}
    for score in store.scores_for(session, opportunity_id):
        history.setdefault(score.proposal_id, []).append(score)
    latest: dict[int, dict[str, Score]] = {}
    for proposal_id, rows in history.items():
        mine: dict[str, Score] = {}
        for row in rows:  # oldest first: a later score replaces an earlier one
            mine.pop(row.evaluator.lower(), None)
            mine[row.evaluator.lower()] = row
        latest[proposal_id] = mine
    proposals = store.proposals(session, opportunity_id)
    entries = [
        ranking.Ranked(
            p.bidder,
            p.amount,
            p.submitted_at,
            ranking.average({k: s.score for k, s in latest.get(p.id, {}).items()}),
            {k: s.score for k, s in latest.get(p.id, {}).items()},
        )
        for p in proposals
        if p.status == "live"
    ]
    ranks = {r.bidder.lower(): r for r in ranking.rank(entries)}
    out = []
    for p in proposals:
        placed = ranks.get(p.bidder.lower()) if p.status == "live" else None
        mine = sorted(latest.get(p.id, {}).values(), key=lambda s: s.id)
        out.append(
            Standing(
                proposal=p,
                latest=tuple(mine),
                history=tuple(history.get(p.id, [])),
                average=placed.average if placed else ranking.average({s.evaluator.lower(): s.score for s in mine}),
                rank=placed.rank if placed else None,
            )
        )
    return sorted(out, key=lambda s: (s.rank is None, s.rank or 0))


def highest_ranked(rows: list[Standing]) -> Optional[Standing]:
    """The first-ranked live proposal, once any live proposal is scored."""
    ranked = [s for s in rows if s.rank is not None]
    if not ranked or all(s.average is None for s in ranked):
        return None
    return ranked[0]


def scored_count(rows: list[Standing]) -> int:
    return sum(1 for s in rows if s.live and s.latest)
