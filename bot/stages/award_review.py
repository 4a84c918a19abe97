"""The award-review issue: what a contract officer needs to decide, and nothing to open besides.

PRODUCT.md "The award-review issue". Created by `/award` in `review_repository`
(default: the opportunity's repository), labelled `devex:award-review`: the
opportunity (value, tax basis, deadline, criteria, milestones and their share
of the award), the recommendation and who made it, the conflict checks, the
ranking with every evaluator's score and note, withdrawn proposals marked,
and the event history with links, up to the recommendation.

Rendered when sent (named writes), so it links the evaluation issue even when
that was numbered a moment before; its pages depend only on what was true at
the recommendation, so a continuation page rendered later holds what the
first page announced.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Optional

from sqlmodel import Session

from bot.github.requests import FollowUp, Prepared, Rendered
from bot.pipeline.context import Context
from bot.messages import fit, render, render_one
from bot.procurement.config import ConfigError
from bot.stages import configuration
from bot.stages.effects import summary_write
from bot.stages.pages import SEPARATOR, page_write, paginate
from bot.procurement.lifecycle import AWARD_REVIEW_LABEL
from bot.procurement.money import format_amount
from bot.procurement.ranking import split_contract
from bot.stages.standings import Standing, standings
from bot.stages.finance import splitting_view
from storage import finance as finance_store
from storage import outbox
from storage import procurement as store
from storage.tables import AuditEvent, Award, GitHubWrite, Opportunity

RANKING_ROWS = 100
HISTORY_ROWS = 150


def _money(value: Optional[Decimal]) -> Optional[dict]:
    return None if value is None else {"en": format_amount(value, "en"), "fr": format_amount(value, "fr")}


def _average(value: Optional[Decimal]) -> Optional[dict]:
    return None if value is None else {"en": f"{value:.2f}", "fr": f"{value:.2f}".replace(".", ",")}


def _recommendation_event(events: list[AuditEvent], award: Award) -> Optional[AuditEvent]:
    for event in events:
        if event.kind == "award_recommended" and json.loads(event.detail).get("award_id") == award.id:
            return event
    return None


def _what(event: AuditEvent) -> dict:
    detail = json.loads(event.detail or "{}")
    return {"kind": event.kind, "detail": detail}


def _facts(session: Session, award: Award):
    opportunity = store.opportunity(session, award.opportunity_id)
    rows = standings(session, opportunity.id)
    events = store.history(session, opportunity.id)
    recommended = _recommendation_event(events, award)
    # The history as the recommender left it: later events do not move the pages.
    cut = recommended.id if recommended else (events[-1].id if events else 0)
    return opportunity, rows, [e for e in events if e.id <= cut], recommended


def _ranking_rows(rows: list[Standing], award: Award) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            rank=s.rank,
            bidder=s.bidder,
            live=s.live,
            recommended=s.proposal.id == award.proposal_id,
            amount=_money(s.proposal.amount),
            submitted_at=s.proposal.submitted_at,
            withdrawn_at=s.proposal.withdrawn_at,
            average=_average(s.average),
            latest=s.latest,
            sha256=s.proposal.sha256,
            receipt=s.proposal.receipt_number,
        )
        for s in rows
    ]


def blocks(session: Session, award: Award) -> list[str]:
    opportunity, rows, events, _ = _facts(session, award)
    ranking = _ranking_rows(rows, award)
    out = [render_one("review_ranking", "en", rows=ranking[i : i + RANKING_ROWS], first=i == 0) for i in range(0, len(ranking), RANKING_ROWS)]
    for standing in rows:
        if standing.history:
            latest = {s.id for s in standing.latest}
            out.append(render_one("review_scores", "en", bidder=standing.bidder, scores=standing.history, latest=latest))
    history = [SimpleNamespace(at=e.at, actor=e.actor, url=e.url, **_what(e)) for e in events]
    for i in range(0, len(history), HISTORY_ROWS):
        out.append(render_one("review_history", "en", events=history[i : i + HISTORY_ROWS], first=i == 0))
    return out


def head(session: Session, award: Award, pages: int) -> str:
    opportunity, rows, events, recommended = _facts(session, award)
    detail = json.loads(recommended.detail) if recommended else {}
    mine = next((s for s in rows if s.proposal.id == award.proposal_id), None)
    highest = next((s for s in rows if s.bidder == award.highest_ranked), None) if award.highest_ranked else None
    milestones = store.milestones(session, opportunity.id)
    shares = split_contract(opportunity.value, award.amount, [m.amount for m in milestones]) if milestones else []
    bidders = {s.bidder.lower() for s in rows}
    scorers = sorted({score.evaluator for s in rows for score in s.history}, key=str.lower)
    try:
        config = configuration.cached(session, opportunity.repository)
        officers = (config.contract_officer_logins, config.contract_officer_teams)
    except ConfigError:  # the file is invalid now: nobody is mentioned rather than the wrong people
        officers = ([], [])
    return render(
        "review_issue",
        mark=f"review:{award.id}",
        o=opportunity,
        a=award,
        mine=mine,
        average=_average(mine.average) if mine else None,
        ranked=sum(1 for s in rows if s.rank is not None),
        withdrawn=sum(1 for s in rows if not s.live),
        highest=highest if highest and highest.proposal.id != award.proposal_id else None,
        highest_average=_average(highest.average) if highest else None,
        milestones=list(zip(milestones, shares)),
        conflicts=detail.get("conflicts", []),
        permission=detail.get("permission"),
        checked=recommended is not None,
        scorers=scorers,
        scorer_bidders=[name for name in scorers if name.lower() in bidders],
        recommender_bids=award.recommended_by.lower() in bidders,
        officer_logins=officers[0],
        officer_teams=officers[1],
        pages=pages,
        commitment=finance_store.commitment(session, opportunity.id),
        splitting=splitting_view(detail.get("splitting")),
    )


def pages(session: Session, award: Award) -> list[str]:
    placed = paginate(blocks(session, award))
    first = SEPARATOR.join([head(session, award, len(placed)), *placed[0]])
    rest = [
        SEPARATOR.join([render_one("review_continued", "en", page=i + 1, pages=len(placed)), *chunk]) for i, chunk in enumerate(placed[1:], start=1)
    ]
    return [fit(page) for page in (first, *rest)]


def title(opportunity: Opportunity) -> str:
    return " · ".join(render_one("review_title", lang, o=opportunity) for lang in ("en", "fr"))[:250]


def request(ctx: Context, opportunity: Opportunity, award: Award) -> None:
    count = len(paginate(blocks(ctx.session, award)))
    for page in range(count):
        ctx.write(prepare.write(opportunity.installation_id, f"{award.id}:{page}", award_id=award.id, page=page))


@Rendered.kind("award_review")
def prepare(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    award = store.award(session, body["award_id"])
    if award is None:
        return Prepared(skip=True)
    opportunity = store.opportunity(session, award.opportunity_id)
    prepared, then = page_write(
        award.review_repository,
        award.review_issue_number,
        body["page"],
        lambda: pages(session, award),
        title=title(opportunity),
        label=AWARD_REVIEW_LABEL,
        then=json.dumps(remember.then(award_id=award.id, at=now.isoformat())),
    )
    if then:
        write.then = then
    return prepared


@FollowUp.step("remember_review_issue")
def remember(session: Session, then: dict, answer) -> None:
    """GitHub numbered the review issue: commands there now find the award; the summary links it."""
    award = store.award(session, then["award_id"])
    if award is None or not isinstance(answer.data, dict):
        return
    award.review_issue_number = answer.data.get("number")
    award.review_issue_url = answer.data.get("html_url")
    store.save(session, award)
    opportunity = store.opportunity(session, award.opportunity_id)
    # The summary links the new issue; a summary edit already queued behind this write does it.
    summary = summary_write(opportunity)
    outbox.enqueue(session, summary, now=datetime.fromisoformat(then["at"]))


# ---------------------------------------------------------------- closing


def closing(installation_id: int, award: Award, why: str, note: bool = False) -> list:
    """The writes that close the review issue (`why`: approved, rejected or cancelled)."""
    steps = ("note", "close") if note else ("close",)
    return [prepare_closing.write(installation_id, f"{award.id}:{step}", award_id=award.id, why=why, step=step) for step in steps]


def close(ctx: Context, installation_id: int, award: Award, why: str, note: bool = False) -> None:
    for write in closing(installation_id, award, why, note):
        ctx.write(write)


@Rendered.kind("award_review_closing")
def prepare_closing(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    award = store.award(session, body["award_id"])
    if award is None or award.review_issue_number is None:
        return Prepared(skip=True)
    path = f"/repos/{award.review_repository}/issues/{award.review_issue_number}"
    if body["step"] == "note":
        return Prepared("POST", f"{path}/comments", {"body": render("review_closed", why=body["why"], a=award)})
    reason = "completed" if body["why"] == "approved" else "not_planned"
    return Prepared("PATCH", path, {"state": "closed", "state_reason": reason})
