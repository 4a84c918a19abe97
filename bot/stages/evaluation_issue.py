"""The evaluation issue: the sealed proposals, published to the evaluators when bidding closes.

PRODUCT.md "Where evaluators read the proposals". Opened in `review_repository`
(default: the opportunity's own), labelled `devex:evaluation`, it holds every
live proposal in full: bidder, amount, submitted at, receipt, SHA-256, and the
text exactly as recorded, so its bidder can check the hash of what the
evaluators read. Withdrawn proposals are listed without their text.

Its pages are named writes rendered when sent: the issue is created first,
then the continuation comments (if the proposals do not fit in one body) go
to the number GitHub gave it.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from bot.github.requests import FollowUp, Prepared, Rendered
from bot.pipeline.context import Context
from bot.messages import fit, render, render_one
from bot.stages.effects import summary_write
from bot.stages.pages import SEPARATOR, page_write, paginate, split_text
from bot.procurement.lifecycle import EVALUATION_LABEL
from bot.procurement.money import format_amount
from bot.procurement.receipts import canonical
from storage import outbox
from storage import procurement as store
from storage.tables import GitHubWrite, Opportunity

# Proposals per overview table (a table cannot be cut between pages).
OVERVIEW_ROWS = 100
# A proposal text longer than this is shown in parts (the hash covers them joined).
TEXT_PART = 50_000


def _both(value) -> dict:
    return {"en": format_amount(value, "en"), "fr": format_amount(value, "fr")}


def blocks(session: Session, opportunity: Opportunity) -> list[str]:
    """The overview of every proposal, then each live one in full."""
    proposals = store.proposals(session, opportunity.id)
    rows = [
        SimpleNamespace(index=i + 1, bidder=p.bidder, amount=_both(p.amount), submitted_at=p.submitted_at, receipt=p.receipt_number, live=p.status == "live")
        for i, p in enumerate(proposals)
    ]
    out = [render_one("evaluation_overview", "en", rows=rows[i : i + OVERVIEW_ROWS]) for i in range(0, len(rows), OVERVIEW_ROWS)]
    for row, proposal in zip(rows, proposals):
        if not row.live:
            continue
        version = store.latest_version(session, proposal)
        text = canonical(version.amount, version.text) if version else canonical(proposal.amount, "")
        parts = split_text(text, TEXT_PART)
        for number, part in enumerate(parts, start=1):
            out.append(render_one("evaluation_proposal", "en", p=row, sha256=proposal.sha256, text=part, part=number, parts=len(parts)))
    return out


def head(session: Session, opportunity: Opportunity, pages: int) -> str:
    proposals = store.proposals(session, opportunity.id)
    return render(
        "evaluation_issue",
        mark=f"evaluation:{opportunity.id}",
        o=opportunity,
        live=sum(1 for p in proposals if p.status == "live"),
        withdrawn=sum(1 for p in proposals if p.status != "live"),
        private=opportunity.review_repository_private,
        pages=pages,
    )


def pages(session: Session, opportunity: Opportunity) -> list[str]:
    placed = paginate(blocks(session, opportunity))
    first = SEPARATOR.join([head(session, opportunity, len(placed)), *placed[0]])
    rest = [
        SEPARATOR.join([render_one("evaluation_continued", "en", page=i + 1, pages=len(placed), o=opportunity), *chunk])
        for i, chunk in enumerate(placed[1:], start=1)
    ]
    return [fit(page) for page in (first, *rest)]


def title(opportunity: Opportunity) -> str:
    return " · ".join(render_one("evaluation_title", lang, o=opportunity) for lang in ("en", "fr"))[:250]


def request(ctx: Context, opportunity: Opportunity) -> None:
    """Queues the issue and its continuation pages."""
    count = len(paginate(blocks(ctx.session, opportunity)))
    for page in range(count):
        ctx.write(prepare.write(opportunity.installation_id, f"{opportunity.id}:{page}", opportunity_id=opportunity.id, page=page))


@Rendered.kind("evaluation_issue")
def prepare(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    opportunity = store.opportunity(session, body["opportunity_id"])
    if opportunity is None:
        return Prepared(skip=True)
    repository = opportunity.review_repository or opportunity.repository
    prepared, then = page_write(
        repository,
        opportunity.evaluation_issue_number,
        body["page"],
        lambda: pages(session, opportunity),
        title=title(opportunity),
        label=EVALUATION_LABEL,
        then=json.dumps(remember.then(opportunity_id=opportunity.id, at=now.isoformat())),
    )
    if then:
        write.then = then
    return prepared


@FollowUp.step("remember_evaluation_issue")
def remember(session: Session, then: dict, answer) -> None:
    """GitHub numbered the evaluation issue: link it from the opportunity's summary."""
    opportunity = store.opportunity(session, then["opportunity_id"])
    if opportunity is None or not isinstance(answer.data, dict):
        return
    opportunity.evaluation_issue_number = answer.data.get("number")
    opportunity.evaluation_issue_url = answer.data.get("html_url")
    store.save(session, opportunity)
    # The summary links the new issue; a summary edit already queued behind this write does it.
    summary = summary_write(opportunity)
    outbox.enqueue(session, summary, now=datetime.fromisoformat(then["at"]))


# ---------------------------------------------------------------- closing


def close(ctx: Context, opportunity: Opportunity, why: str) -> None:
    """`why`: approved or cancelled. A note on the issue, then the issue closed."""
    for step in ("note", "close"):
        ctx.write(prepare_closing.write(opportunity.installation_id, f"{opportunity.id}:{step}", opportunity_id=opportunity.id, why=why, step=step))


@Rendered.kind("evaluation_closing")
def prepare_closing(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    opportunity = store.opportunity(session, body["opportunity_id"])
    if opportunity is None or opportunity.evaluation_issue_number is None:
        return Prepared(skip=True)
    path = f"/repos/{opportunity.review_repository or opportunity.repository}/issues/{opportunity.evaluation_issue_number}"
    if body["step"] == "note":
        award = store.approved_award(session, opportunity.id)
        return Prepared("POST", f"{path}/comments", {"body": render("evaluation_closed", why=body["why"], o=opportunity, award=award)})
    reason = "completed" if body["why"] == "approved" else "not_planned"
    return Prepared("PATCH", path, {"state": "closed", "state_reason": reason})
