"""Finance and governance: funds committed before posting (`/commit`, FAA s. 32), work
certified before payment (`/certify`, s. 34), who may mark a payment paid, and
contract splitting flagged at `/award` and `/approve`.

PRODUCT.md "People" (finance officer, technical authority) and "Finance and
governance". Each `may_*` is a check of the command table; the actions record
rows and audit events, then queue what GitHub must show.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Optional

from bot.pipeline.context import Context
from bot.procurement import splitting as rules
from bot.procurement.config import RepoConfig
from bot.procurement.lifecycle import State
from bot.stages.effects import audit, refresh_summary, set_state
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.stages.target import Target
from storage import finance as ledger
from storage import payments as payments_ledger
from storage import procurement as store
from storage.tables import Certification, FundsCommitment, Opportunity

REFERENCE_LIMIT = 200
AWAITING_CERTIFICATION = "awaiting-certification"


# ---------------------------------------------------------------- funds commitment (s. 32)


def covered(ctx: Context, opportunity: Opportunity) -> bool:
    """Funds are committed for the opportunity's current value."""
    row = ledger.commitment(ctx.session, opportunity.id) if opportunity.id else None
    return row is not None and opportunity.value is not None and row.amount >= opportunity.value


def _finance_officers(config: RepoConfig) -> dict:
    return {
        "logins": config.finance_officer_logins,
        "teams": [f"{org}/{team}" for org, team in config.finance_officer_teams],
        "listed": bool(config.finance_officers),
    }


def may_commit(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/commit: a finance officer, while the opportunity waits for its funds."""
    if not target.people.is_finance_officer(login, fresh):
        return Refusal("commit_not_finance_officer", "finance_officers_only", _finance_officers(target.config))
    opportunity = target.opportunity
    if opportunity.state != State.NEEDS_COMMITMENT.value:
        row = ledger.commitment(ctx.session, opportunity.id)
        return Refusal(
            "commit_not_waiting",
            "awaiting_commitment",
            {"state": opportunity.state, "reference": row.reference if row else None, "required": target.config.finance.commitment_required},
        )
    return None


def commit(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    """`/commit REFERENCE`: the funds are committed; the opportunity opens."""
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "commit_usage")
    if opportunity.deadline is not None and opportunity.deadline <= ctx.now:
        return refuse(cmd, "commit_deadline_passed", deadline=opportunity.deadline, timezone=opportunity.timezone)
    reference = " ".join(cmd.args.reference.split())[:REFERENCE_LIMIT]
    ledger.add(
        ctx.session,
        FundsCommitment(
            opportunity_id=opportunity.id,
            reference=reference,
            amount=opportunity.value,
            committed_by=login,
            committed_at=ctx.now,
            comment_url=comment.get("html_url"),
        ),
    )
    audit(ctx, opportunity, "funds_committed", url=comment.get("html_url"), who=login, reference=reference, amount=str(opportunity.value))
    set_state(ctx, opportunity, State.OPEN, who=login, reason="funds_committed")
    refresh_summary(ctx, opportunity)
    return done(cmd, "funds_committed", reference=reference, amount=opportunity.value, deadline=opportunity.deadline, timezone=opportunity.timezone)


# ---------------------------------------------------------------- paying (who may) and certification (s. 34)


def may_pay(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/paid: a contract officer or a finance officer."""
    people = target.people
    if people.is_contract_officer(login, fresh) or people.is_finance_officer(login, fresh):
        return None
    return Refusal("pay_not_officer", "payers_only", _finance_officers(target.config))


def status_at_merge(config: Optional[RepoConfig]) -> str:
    """A paying merge's payment: payable, or awaiting a technical authority's certification."""
    return AWAITING_CERTIFICATION if config is not None and config.finance.certification_required else "payable"


def may_certify(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/certify: a technical authority, an issuer or evaluator who is not the contractor."""
    contractor = target.opportunity.contractor
    if contractor and login.lower() == contractor.lower():
        return Refusal("certify_contractor", "technical_authority_only")
    if not target.people.is_technical_authority(login, contractor, fresh):
        return Refusal("certify_not_authority", "technical_authority_only")
    return None


def certify(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    """`/certify PAYMENT_ID`: the work was performed; the payment is payable, due from now."""
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "certify_usage")
    payment = store.payment(ctx.session, cmd.args.payment_id, lock=True)
    if payment is None or payment.opportunity_id != opportunity.id:
        ids = [p.id for p in store.payments(ctx.session, opportunity.id)]
        return refuse(cmd, "pay_no_such_payment", payment_id=cmd.args.payment_id, ids=ids)
    if payment.contractor.lower() == login.lower():
        return refuse(cmd, "certify_contractor")
    if payment.status != AWAITING_CERTIFICATION:
        done_before = ledger.certification(ctx.session, payment.id)
        return refuse(
            cmd,
            "certify_not_awaiting",
            payment_id=payment.id,
            status=payment.status,
            by=done_before.certified_by if done_before else None,
            at=done_before.certified_at if done_before else None,
        )
    terms_days = target.config.payment_terms_days
    ledger.add(ctx.session, Certification(payment_id=payment.id, certified_by=login, certified_at=ctx.now, comment_url=comment.get("html_url")))
    payment.status = "payable"
    payment.due_at = ctx.now + timedelta(days=terms_days)
    store.save(ctx.session, payment)
    milestone = payments_ledger.milestone(ctx.session, payment.milestone_id)
    audit(
        ctx,
        opportunity,
        "payment_certified",
        url=comment.get("html_url"),
        who=login,
        payment_id=payment.id,
        amount=str(payment.amount),
        due=payment.due_at.isoformat(),
        terms_days=terms_days,
    )
    refresh_summary(ctx, opportunity)
    return done(cmd, "payment_certified", payment=payment, milestone=milestone, terms_days=terms_days, timezone=opportunity.timezone)


def paid_refusal(cmd, payment) -> Optional[Outcome]:
    """/paid of a payment whose work no one has certified yet."""
    if payment.status == AWAITING_CERTIFICATION:
        return refuse(cmd, "pay_awaiting_certification", payment_id=payment.id)
    return None


# ---------------------------------------------------------------- contract splitting


def splitting(ctx: Context, opportunity: Opportunity, contractor: str, amount: Decimal, config: RepoConfig) -> Optional[dict]:
    """The approved awards to `contractor` by the opportunity's organization in the window,
    when with `amount` they pass the value cap; None when nothing is flagged."""
    since = ctx.now - timedelta(days=config.splitting_window_days)
    organization = rules.organization_of(opportunity.repository)
    found = {}
    prior = []
    for award, other in ledger.approved_awards_to(ctx.session, contractor, since):
        if other.id == opportunity.id:
            continue
        prior.append(rules.PriorAward(award.id, rules.organization_of(other.repository), award.contractor, award.amount, award.decided_at))
        found[award.id] = (award, other)
    counted = rules.counted(prior, organization=organization, contractor=contractor, now=ctx.now, window_days=config.splitting_window_days)
    if not rules.flagged(counted, amount, config.value_cap):
        return None
    awards = [
        {
            "award_id": p.award_id,
            "url": found[p.award_id][1].html_url,
            "title": found[p.award_id][1].title,
            "amount": str(p.amount),
            "approved_at": p.approved_at.isoformat(),
        }
        for p in counted
    ]
    total = sum((p.amount for p in counted), Decimal("0")) + amount
    return {"awards": awards, "total": str(total), "cap": str(config.value_cap), "window_days": config.splitting_window_days, "amount": str(amount)}


def splitting_view(flagged: Optional[dict]) -> Optional[SimpleNamespace]:
    """The flagged awards as templates read them (amounts as Decimal, times as datetime)."""
    if not flagged:
        return None
    awards = [
        SimpleNamespace(url=a["url"], title=a["title"], amount=Decimal(a["amount"]), approved_at=datetime.fromisoformat(a["approved_at"]))
        for a in flagged["awards"]
    ]
    return SimpleNamespace(
        awards=awards,
        total=Decimal(flagged["total"]),
        cap=Decimal(flagged["cap"]),
        amount=Decimal(flagged["amount"]),
        window_days=flagged["window_days"],
    )


def splitting_refusal(cmd, flagged: Optional[dict], justification: str) -> Optional[Outcome]:
    """/approve of a flagged award needs a written justification."""
    if flagged and not justification:
        return refuse(cmd, "splitting_justification_required", splitting=splitting_view(flagged))
    return None
