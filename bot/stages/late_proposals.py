"""A proposal written before the deadline that GitHub delivered after bidding closed.

PRODUCT.md "Missed deliveries": a recovered bid counts by the time its comment
was written, so it joins the evaluation even when bidding has closed meanwhile,
and the evaluators are told on the evaluation issue. When that issue's body is
still waiting to be written, the body shows the proposal with the others and
the notice only says it came late; otherwise the notice carries the proposal in
full, as the body shows the others (bidder, amount, receipt, SHA-256, text).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from bot.github.requests import Prepared, Rendered
from bot.stages import evaluation, evaluation_issue
from bot.pipeline.context import Context
from bot.messages import fit, render, render_one
from bot.stages.effects import audit
from bot.stages.pages import SEPARATOR, split_text
from bot.procurement.money import format_amount
from bot.procurement.receipts import canonical
from storage import outbox
from storage import procurement as store
from storage.tables import GitHubWrite, Opportunity, Proposal

def joined_evaluation(ctx: Context, opportunity: Opportunity, proposal: Proposal, version: int, written_at: datetime) -> None:
    opened = opportunity.evaluation_issue_number is not None or store.last_event(ctx.session, opportunity.id, "evaluation_issue_opened") is not None
    if not opened:
        # No proposal had arrived by the deadline: the evaluation issue opens now, with this one.
        evaluation.open_evaluation_issue(ctx, opportunity)
        in_body = True
    else:
        in_body = outbox.hold_pending_named(ctx.session, f"{evaluation_issue.prepare.name}:{opportunity.id}:0")
    audit(ctx, opportunity, "late_proposal_joined", who=proposal.bidder, version=version, written_at=written_at.isoformat(), in_issue_body=in_body)
    ctx.session.flush()  # the version row, read back to size the notice
    parts = 1 if in_body else len(split_text(_text(ctx.session, proposal, version), evaluation_issue.TEXT_PART))
    for part in range(1, parts + 1):
        ctx.write(
            prepare.write(
                opportunity.installation_id,
                f"{opportunity.id}:{proposal.id}:{version}:{part}",
                opportunity_id=opportunity.id,
                proposal_id=proposal.id,
                version=version,
                part=part,
                parts=parts,
                in_body=in_body,
            )
        )


def _version(session: Session, proposal: Proposal, number: int):
    return next((v for v in store.versions(session, proposal.id) if v.version == number), None)


def _text(session: Session, proposal: Proposal, number: int) -> str:
    version = _version(session, proposal, number)
    return canonical(version.amount, version.text) if version else canonical(proposal.amount, "")


@Rendered.kind("evaluation_late")
def prepare(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    opportunity = store.opportunity(session, body["opportunity_id"])
    proposal = store.proposal(session, body["proposal_id"])
    if opportunity is None or proposal is None or opportunity.evaluation_issue_number is None:
        return Prepared(skip=True)  # no evaluation issue was made: nothing to add to
    version = _version(session, proposal, body["version"])
    if version is None:
        return Prepared(skip=True)
    part, parts = body.get("part", 1), body.get("parts", 1)
    blocks = []
    if part == 1:
        blocks.append(render("evaluation_late", o=opportunity, bidder=proposal.bidder, v=version, in_body=body["in_body"]))
    if not body["in_body"]:
        live = store.proposals(session, opportunity.id)
        index = next((i + 1 for i, p in enumerate(live) if p.id == proposal.id), len(live))
        row = SimpleNamespace(
            index=index,
            bidder=proposal.bidder,
            amount={"en": format_amount(version.amount, "en"), "fr": format_amount(version.amount, "fr")},
            submitted_at=version.submitted_at,
            receipt=version.receipt_number,
            live=True,
        )
        text = split_text(canonical(version.amount, version.text), evaluation_issue.TEXT_PART)[part - 1]
        blocks.append(render_one("evaluation_proposal", "en", p=row, sha256=version.sha256, text=text, part=part, parts=parts))
    repository = opportunity.review_repository or opportunity.repository
    return Prepared("POST", f"/repos/{repository}/issues/{opportunity.evaluation_issue_number}/comments", {"body": fit(SEPARATOR.join(blocks))})
