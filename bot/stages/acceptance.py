"""`/accept REASON`: a contract officer accepts a merged pull request of the
contractor that did not pass acceptance (PRODUCT.md "Acceptance"), and its
milestone's payment is recorded once, with the reason in the audit trail,
on the payment's comment and in the payments export.
"""

from __future__ import annotations

from typing import Optional

from bot.messages import render
from bot.pipeline.context import Context
from bot.stages import payments
from bot.stages.effects import post
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.stages.pull_request_facts import PullRequest
from bot.stages.target import Target
from storage import acceptance as kept
from storage import payments as ledger

REASON_LIMIT = 500


def may_accept(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    return None if target.people.is_contract_officer(login, fresh) else Refusal("pay_not_officer", "officers_only")


def accept(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "reason_required")
    number = (ctx.payload.get("issue") or {}).get("number")
    row = kept.refused_merge(ctx.session, ctx.repository, number, lock=True)
    if row is None:
        return refuse(cmd, "accept_nothing")
    if row.status == "accepted":
        return refuse(cmd, "accept_done", payment_id=row.payment_id, accepted_by=row.accepted_by)
    opportunity = ledger.lock_opportunity(ctx.session, row.opportunity_id)
    pr = PullRequest(
        repository=row.repository,
        number=row.number,
        title="",
        body=f"Milestone: {row.milestone_wanted}" if row.milestone_wanted else "",
        author=row.author,
        html_url=row.html_url,
        merged=True,
        merged_at=row.merged_at,
        merged_by=row.merged_by,
    )
    facts = payments.contract_facts(ctx.session, opportunity)
    decision = payments._decide(pr, opportunity, facts)
    if not decision.pays:
        return refuse(cmd, "accept_pays_nothing", why=decision.reason, o=opportunity)
    row.status = "accepted"
    row.accepted_by = login
    row.accepted_at = ctx.now
    row.reason = " ".join(cmd.args.reason.split())[:REASON_LIMIT]
    link = ledger.link_pull_request(ctx.session, row.repository, row.number, opportunity.id)
    payment = payments.pay(ctx, pr, link, opportunity, facts, decision, payments._config(ctx, opportunity), accepted=row)
    row.payment_id = payment.id
    kept.save(ctx.session, row)
    milestone = ledger.milestone(ctx.session, payment.milestone_id)
    post(ctx, opportunity, render("merge_accepted", row=row, payment=payment, milestone=milestone))
    return done(cmd, "merge_accepted", payment=payment, milestone=milestone, reason=row.reason)
