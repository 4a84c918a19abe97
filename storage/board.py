"""What the public board reads: listed opportunities, one opportunity's public record.

Every query of the board is here, and each selects only what may be public:
never a proposal's text or amount, never a score, nothing of an opportunity
whose repository is private (or not known to be public), has `board: false`,
or is in a state the board does not show (needs changes, cancelled).

Words are searched through an index: FTS5 on SQLite (the `opportunity_search`
table of migration 0006_board), GIN over `to_tsvector('simple', ...)` on
PostgreSQL. The list and the feed walk `ix_opportunities_board`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import is_sqlite
from storage.tables import Award, Milestone, Opportunity, Payment, Proposal

#: The states the board shows, and what each `state` filter means.
PUBLIC_STATES = ("open", "evaluation", "review", "awarded", "completed", "terminated")
STATE_FILTERS = {
    "open": ("open",),
    "evaluation": ("evaluation", "review"),
    "awarded": ("awarded",),
    "completed": ("completed",),
    "all": PUBLIC_STATES,
}
#: States in which the contractor and the amount of the award are public.
AWARDED_STATES = ("awarded", "completed", "terminated")

# The same expressions as the GIN indexes of migration 0006_board.
WORDS_PG = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(problem, '') || ' ' || coalesce(skills, ''))"
SKILLS_PG = "to_tsvector('simple', coalesce(skills, ''))"

# Letters and digits only: whatever a person types, no search operator gets through.
WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 12


def words(text: Optional[str]) -> tuple[str, ...]:
    return tuple(w.lower() for w in WORD.findall(text or ""))[:MAX_WORDS]


@dataclass(frozen=True)
class Search:
    """A board search: every field optional, `states` one of STATE_FILTERS' values."""

    words: tuple[str, ...] = ()
    skill: tuple[str, ...] = ()  # the words of one skill, matched as a phrase
    org: Optional[str] = None
    min_value: Optional[Decimal] = None
    max_value: Optional[Decimal] = None
    closes_before: Optional[datetime] = None
    states: tuple[str, ...] = STATE_FILTERS["open"]


@dataclass(frozen=True)
class Listing:
    """What the board shows of one opportunity in a list or a feed."""

    repository: str
    number: int
    title: str
    html_url: str
    state: str
    value: Optional[Decimal]
    amounts_include_tax: bool
    deadline: Optional[datetime]
    timezone: str
    skills: Optional[str]
    bidding: str
    proposals: int
    opened_at: datetime
    updated_at: datetime
    contractor: Optional[str]
    contract_value: Optional[Decimal]

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]


@dataclass(frozen=True)
class MilestoneRecord:
    position: int
    name: str
    amount: Decimal
    contract_amount: Optional[Decimal]
    status: str  # open, accepted, void
    payment_status: Optional[str]  # payable, paid, void
    paid_amount: Optional[Decimal]
    paid_at: Optional[datetime]
    merged_at: Optional[datetime]
    pull_request_url: Optional[str]
    pull_request_number: Optional[int]


@dataclass(frozen=True)
class Record:
    """One opportunity's public page."""

    listing: Listing
    problem: Optional[str]
    acceptance_criteria: Optional[str]
    evaluation_criteria: Optional[str]
    milestones: tuple[MilestoneRecord, ...]
    awarded_at: Optional[datetime]


# ---------------------------------------------------------------- reading without writing


def reader(engine: Engine) -> Engine:
    """An engine for the board's reads. On SQLite, connections of its own that
    never take the process's write lock (see storage.db.make_engine) and run
    read-only: in WAL mode a reader waits for no writer. On PostgreSQL the
    same pool, in read-only transactions."""
    if not is_sqlite(engine):
        return engine.execution_options(postgresql_readonly=True)
    read = sa.create_engine(
        engine.url,
        connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
    )

    @event.listens_for(read, "connect")
    def _read_only(dbapi_connection, _record):  # pragma: no cover - trivial
        dbapi_connection.execute("PRAGMA query_only=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA cache_size=-32768")  # 32 MiB: the board reads a lot of rows

    @event.listens_for(read, "begin")
    def _snapshot(conn):
        conn.exec_driver_sql("BEGIN")  # deferred: one read snapshot per page

    return read


# ---------------------------------------------------------------- queries


def _proposal_count():
    return (
        select(sa.func.count())
        .select_from(Proposal)
        .where(Proposal.opportunity_id == Opportunity.id, Proposal.status == "live")
        .correlate(Opportunity)
        .scalar_subquery()
    )


COLUMNS = (
    Opportunity.repository,
    Opportunity.issue_number,
    Opportunity.title,
    Opportunity.html_url,
    Opportunity.state,
    Opportunity.value,
    Opportunity.amounts_include_tax,
    Opportunity.deadline,
    Opportunity.timezone,
    Opportunity.skills,
    Opportunity.bidding,
    _proposal_count().label("proposals"),
    Opportunity.opened_at,
    Opportunity.updated_at,
    Opportunity.contractor,
    Opportunity.contract_value,
)


def _listed(states: tuple[str, ...]) -> list:
    return [
        Opportunity.on_board.is_(True),
        Opportunity.repository_private.is_(False),
        Opportunity.state.in_([s for s in states if s in PUBLIC_STATES]),
        Opportunity.opened_at.is_not(None),
    ]


def _fts_phrase(tokens: tuple[str, ...]) -> str:
    return '"' + " ".join(tokens) + '"'


def _conditions(session: Session, search: Search) -> list:
    conditions = _listed(search.states)
    if search.org:
        escaped = search.org.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(sa.func.lower(Opportunity.repository).like(escaped + "/%", escape="\\"))
    if search.min_value is not None:
        conditions.append(Opportunity.value >= search.min_value)
    if search.max_value is not None:
        conditions.append(Opportunity.value <= search.max_value)
    if search.closes_before is not None:
        conditions.append(Opportunity.deadline < search.closes_before)
    if search.words or search.skill:
        if is_sqlite(session.get_bind()):
            parts = [_fts_phrase((w,)) + "*" for w in search.words]
            if search.skill:
                parts.append("skills : " + _fts_phrase(search.skill))
            matches = sa.text("SELECT rowid FROM opportunity_search WHERE opportunity_search MATCH :match").bindparams(
                match=" AND ".join(parts)
            )
            conditions.append(Opportunity.id.in_(matches.columns(sa.column("rowid"))))
        else:
            if search.words:
                query = " & ".join(f"{w}:*" for w in search.words)
                conditions.append(sa.text(f"{WORDS_PG} @@ to_tsquery('simple', :words)").bindparams(words=query))
            if search.skill:
                conditions.append(sa.text(f"{SKILLS_PG} @@ phraseto_tsquery('simple', :skill)").bindparams(skill=" ".join(search.skill)))
    return conditions


def _listing(row) -> Listing:
    awarded = row.state in AWARDED_STATES
    return Listing(
        repository=row.repository,
        number=row.issue_number,
        title=row.title,
        html_url=row.html_url,
        state=row.state,
        value=row.value,
        amounts_include_tax=bool(row.amounts_include_tax),
        deadline=row.deadline,
        timezone=row.timezone,
        skills=row.skills,
        bidding=row.bidding,
        proposals=int(row.proposals or 0),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        contractor=row.contractor if awarded else None,
        contract_value=row.contract_value if awarded else None,
    )


NEWEST_FIRST = (Opportunity.opened_at.desc(), Opportunity.id.desc())


def _page_query(session: Session, search: Search, limit: int, offset: int = 0):
    return select(*COLUMNS).where(*_conditions(session, search)).order_by(*NEWEST_FIRST).limit(limit).offset(offset)


def page(session: Session, search: Search, limit: int, offset: int = 0) -> tuple[list[Listing], int]:
    """One page of the search, newest first, and how many match in all."""
    total = session.exec(select(sa.func.count()).select_from(Opportunity).where(*_conditions(session, search))).one()
    rows = session.exec(_page_query(session, search, limit, offset)).all()
    return [_listing(r) for r in rows], int(total)


def plan(session: Session, search: Search, limit: int = 20) -> list[str]:
    """The database's plan for one page of the search (to check that it uses indexes)."""
    bind = session.get_bind()
    sql = str(_page_query(session, search, limit).compile(bind, compile_kwargs={"literal_binds": True}))
    if is_sqlite(bind):
        return [row[-1] for row in session.exec(sa.text("EXPLAIN QUERY PLAN " + sql)).all()]
    return [row[0] for row in session.exec(sa.text("EXPLAIN " + sql)).all()]


def newest(session: Session, search: Search, limit: int) -> list[Listing]:
    """The feed: the newest opportunities the search matches."""
    rows = session.exec(_page_query(session, search, limit)).all()
    return [_listing(r) for r in rows]


def listed(session: Session) -> list[tuple[str, int]]:
    """(repository, number) of every opportunity the board shows, in any state."""
    rows = session.exec(
        select(Opportunity.repository, Opportunity.issue_number).where(*_listed(PUBLIC_STATES)).order_by(*NEWEST_FIRST)
    ).all()
    return [(r[0], r[1]) for r in rows]


def record(session: Session, repository: str, number: int) -> Optional[Record]:
    """One listed opportunity's public record, or None (unknown or not public)."""
    base = select(*COLUMNS, Opportunity.id, Opportunity.problem, Opportunity.acceptance_criteria, Opportunity.evaluation_criteria)
    base = base.where(*_listed(PUBLIC_STATES), Opportunity.issue_number == number)
    row = session.exec(base.where(Opportunity.repository == repository)).first()
    if row is None:  # GitHub's names are case-insensitive
        row = session.exec(base.where(sa.func.lower(Opportunity.repository) == repository.lower())).first()
    if row is None:
        return None
    listing = _listing(row)
    awarded = listing.state in AWARDED_STATES
    milestones = session.exec(
        select(Milestone, Payment).outerjoin(Payment, Payment.milestone_id == Milestone.id).where(Milestone.opportunity_id == row.id).order_by(Milestone.position)
    ).all()
    awarded_at = None
    if awarded:
        awarded_at = session.exec(
            select(Award.decided_at).where(Award.opportunity_id == row.id, Award.status == "approved").order_by(Award.id.desc())
        ).first()
    return Record(
        listing=listing,
        problem=row.problem,
        acceptance_criteria=row.acceptance_criteria,
        evaluation_criteria=row.evaluation_criteria,
        milestones=tuple(_milestone(m, p if awarded else None, awarded) for m, p in milestones),
        awarded_at=awarded_at,
    )


def _milestone(milestone: Milestone, payment: Optional[Payment], awarded: bool) -> MilestoneRecord:
    return MilestoneRecord(
        position=milestone.position,
        name=milestone.name,
        amount=milestone.amount,
        contract_amount=milestone.contract_amount if awarded else None,
        status=milestone.status,
        payment_status=payment.status if payment else None,
        paid_amount=payment.amount if payment else None,
        paid_at=payment.paid_at if payment else None,
        merged_at=payment.merged_at if payment else None,
        pull_request_url=payment.pull_request_url if payment else None,
        pull_request_number=payment.pull_request_number if payment else None,
    )
