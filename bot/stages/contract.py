"""The contract after the award: /paid, /terminate, and the overdue notice.

Payments are recorded by pay on pull (`bot.stages.payments`); this module
moves them on: paid, voided by a termination, or said to be overdue once.
"""

from __future__ import annotations

from typing import Optional

from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement import pull_requests as rules
from bot.procurement.lifecycle import BEFORE_AWARD, State
from bot.stages import finance
from bot.stages.effects import audit, post, refresh_summary, set_state
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.stages.payments import REFERENCE_LIMIT, _config, _officers
from bot.stages.target import Target
from storage import payments as ledger
from storage import procurement as store


# ---------------------------------------------------------------- the scheduler


def notify_overdue(ctx: Context, payment_id: int) -> None:
    """Once per payment: it is payable and past due."""
    payment = store.payment(ctx.session, payment_id, lock=True)
    if payment is None or payment.status != "payable" or payment.overdue_notified_at is not None or payment.due_at >= ctx.now:
        return
    opportunity = store.opportunity(ctx.session, payment.opportunity_id)
    payment.overdue_notified_at = ctx.now
    store.save(ctx.session, payment)
    officers = _officers(_config(ctx, opportunity))
    late = rules.days_late(payment.due_at, ctx.now)
    post(
        ctx,
        opportunity,
        render(
            "payment_overdue",
            officers=officers,
            payment=payment,
            milestone=ledger.milestone(ctx.session, payment.milestone_id),
            days=late,
            tz=opportunity.timezone,
        ),
    )
    audit(ctx, opportunity, "payment_overdue", who="devex-bot", payment_id=payment.id, days_late=late, amount=str(payment.amount))
    refresh_summary(ctx, opportunity)


# ---------------------------------------------------------------- commands


def may_terminate(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/terminate: the contract officers'."""
    return None if target.people.is_contract_officer(login, fresh) else Refusal("terminate_not_officer", "officers_only")


def may_pay(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/paid: a contract officer or a finance officer (bot.stages.finance)."""
    return finance.may_pay(ctx, target, login, fresh)


def paid(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    """`/paid PAYMENT_ID REFERENCE`: finance paid it."""
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "pay_usage")
    opportunity = target.opportunity
    payment = store.payment(ctx.session, cmd.args.payment_id, lock=True)
    if payment is None or payment.opportunity_id != opportunity.id:
        ids = [p.id for p in store.payments(ctx.session, opportunity.id)]
        return refuse(cmd, "pay_no_such_payment", payment_id=cmd.args.payment_id, ids=ids)
    if payment.status == "paid":
        return refuse(cmd, "pay_already_paid", payment_id=payment.id, paid_at=payment.paid_at, reference=payment.reference)
    if payment.status != "payable":
        return finance.paid_refusal(cmd, payment) or refuse(cmd, "pay_void", payment_id=payment.id)
    reference = " ".join(cmd.args.reference.split())[:REFERENCE_LIMIT]
    payment.status = "paid"
    payment.paid_at = ctx.now
    payment.paid_by = login
    payment.reference = reference
    store.save(ctx.session, payment)
    milestone = ledger.milestone(ctx.session, payment.milestone_id)
    audit(ctx, opportunity, "payment_paid", url=comment.get("html_url"), who=login, payment_id=payment.id, amount=str(payment.amount), reference=reference)
    refresh_summary(ctx, opportunity)
    return done(cmd, "payment_paid", payment=payment, milestone=milestone)


def terminate(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    """`/terminate REASON`: the contract ends; milestones not yet accepted are void."""
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "reason_required")
    opportunity = target.opportunity
    state = State(opportunity.state)
    if state != State.AWARDED:
        return refuse(cmd, "terminate_not_awarded", state=state.value, before_award=state in BEFORE_AWARD)
    reason = cmd.args.reason
    voided = ledger.void_open_milestones(ctx.session, opportunity.id)
    owed = [p for p in store.payments(ctx.session, opportunity.id) if p.status in ("payable", finance.AWAITING_CERTIFICATION)]
    set_state(ctx, opportunity, State.TERMINATED, who=login, reason=reason, voided=[m.position for m in voided])
    post(
        ctx,
        opportunity,
        render("contract_terminated", who=login, contractor=opportunity.contractor, reason=reason, voided=voided, owed=owed),
    )
    refresh_summary(ctx, opportunity)
    return done(cmd, "contract_terminated", voided=len(voided), owed=len(owed))

