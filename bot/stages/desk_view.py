"""What one person's desk shows: their registration, their proposals with every
version and receipt, and, once a contract is awarded, their own rank, average
score and the evaluators' notes on their proposal (never anyone else's).

The ranking is the evaluation's own (`bot.stages.standings`); only the row of
this person is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional

from sqlmodel import Session

from bot.stages.standings import standings
from storage import desk as store
from storage import procurement
from storage.desk import MyProposal
from storage.tables import Registration


@dataclass(frozen=True)
class Note:
    evaluator: str
    score: int
    note: Optional[str]


@dataclass(frozen=True)
class Result:
    """After approval: where this person's proposal stood."""

    contractor: bool
    rank: Optional[int]
    count: int
    average: Optional[Decimal]
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Entry:
    mine: MyProposal
    result: Optional[Result]

    @property
    def opportunity(self):
        return self.mine.opportunity

    @property
    def proposal(self):
        return self.mine.proposal

    @property
    def versions(self):
        return self.mine.versions

    @property
    def may_withdraw(self) -> bool:
        return self.proposal.status == "live" and self.opportunity.state == "open"


@dataclass(frozen=True)
class Outcome:
    """A form this person sent, as the worker recorded it."""

    status: str  # pending, done or refused
    outcome: Optional[str]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeskView:
    registration: Optional[Registration]
    entries: tuple[Entry, ...]
    request: Optional[Outcome]


def _result(session: Session, mine: MyProposal, login: str) -> Optional[Result]:
    award = procurement.approved_award(session, mine.opportunity.id)
    if award is None:
        return None
    rows = standings(session, mine.opportunity.id)
    me = next((s for s in rows if s.proposal.id == mine.proposal.id), None)
    if me is None:
        return None
    ranked = sum(1 for s in rows if s.rank is not None)
    notes = tuple(Note(s.evaluator, s.score, s.note) for s in me.latest)
    return Result(award.contractor.lower() == login.lower(), me.rank, ranked, me.average, notes)


def desk_view(session: Session, login: str, user_id: int, request_key: Optional[str] = None) -> DeskView:
    registration = store.registration_of(session, login)
    if registration is not None and registration.user_id is not None and registration.user_id != user_id:
        # The login was registered by another GitHub account (renamed since, its old
        # login taken by this one): nothing recorded under it is this person's.
        return DeskView(None, (), None)
    entries = tuple(Entry(mine, _result(session, mine, login)) for mine in store.proposals_of(session, login))
    outcome = None
    if request_key:
        row = store.my_request(session, request_key, user_id)
        if row is not None:
            outcome = Outcome(row.status, row.outcome, store.params_of(row))
    return DeskView(registration, entries, outcome)
