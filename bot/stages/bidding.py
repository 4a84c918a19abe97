"""Commands of the bidding half: /register, /bid, /withdraw, /status, /extend, /cancel.

Each `may_*` is the check of the command table (`bot.stages.command_table`):
the dispatcher refuses with it before the action runs, and `/help` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional

from bot.stages.effects import audit, audit_event, bidders_of, refresh_summary, set_state
from bot.stages.opportunities import cancel as cancel_opportunity
from bot.stages.mentions import post_to_many
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.procurement import receipts
from bot.procurement.dates import DateError, parse_deadline
from bot.procurement.lifecycle import State, accepts_bids, can_cancel, can_extend, takes_late_arrival
from bot.stages.late_proposals import joined_evaluation
from bot.stages.target import Target
from storage import procurement as store
from storage.tables import Proposal, Registration


def may_register(ctx, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """The attestation says "no conflict of interest": not for someone who has one here.
    As for a bid, the check may use a recent answer, and none at all for a commenter
    GitHub says is no collaborator (a registration is not a privileged command)."""
    conflict = target.people.conflict(login, target.opportunity.author, fresh=False)
    if conflict.conflicted:
        return Refusal("register_conflicted", "conflicted", {"reasons": list(conflict.reasons)})
    return None


def registered(ctx, target: Target, login: str) -> Optional[str]:
    """What /help notes for someone already registered."""
    return "registered" if store.registration(ctx.session, login) is not None else None


def register(ctx, target: Target, cmd, comment: dict) -> Outcome:
    kind, params = record_registration(ctx, target, comment["user"]["login"], comment["user"].get("id"), comment.get("html_url"))
    return done(cmd, kind, **params)


def record_registration(ctx, target: Target, login: str, user_id: Optional[int], url: Optional[str]) -> tuple[str, dict]:
    """The attestation recorded (from a comment or the desk): the outcome's kind and values."""
    config = target.config
    store.lock_registration(ctx.session, login)
    existing = store.registration(ctx.session, login)
    if existing and existing.terms_version == config.terms_version:
        return "already_registered", dict(at=existing.registered_at, terms_url=existing.terms_url, terms_version=existing.terms_version)
    row = Registration(
        login=login,
        user_id=user_id,
        terms_url=config.terms_url,
        terms_version=config.terms_version,
        comment_url=url,
        registered_at=ctx.now,
    )
    store.save(ctx.session, row)
    audit(ctx, target.opportunity, "registered", url=url, who=login, terms_version=config.terms_version)
    return "registered", dict(at=ctx.now, terms_url=config.terms_url, terms_version=config.terms_version)


def may_bid(ctx, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """Whether this person may bid now (the amount is the action's business).
    The conflict check may use a recent answer (`fresh` is not needed for it)."""
    opportunity = target.opportunity
    state = State(opportunity.state)
    if state == State.CANCELLED:
        return Refusal("cancelled", "when_open")
    if state == State.NEEDS_CHANGES:
        return Refusal("not_open_yet", "when_open")
    if state == State.NEEDS_COMMITMENT:
        return Refusal("awaiting_commitment", "when_open")
    if opportunity.deadline is not None and ctx.written_at >= opportunity.deadline:
        return Refusal("deadline_passed", "when_open", {"deadline": opportunity.deadline, "timezone": opportunity.timezone})
    if not accepts_bids(state) and not takes_late_arrival(state):
        # Written on time, but GitHub delivered it only after an award was recommended.
        params = {"deadline": opportunity.deadline, "timezone": opportunity.timezone, "at": ctx.written_at}
        return Refusal("arrived_after_award", "when_open", params)
    terms_version = store.registered_terms(ctx.session, login)
    if terms_version is None:
        return Refusal("not_registered", "register_first")
    if terms_version != target.config.terms_version:
        return Refusal("terms_changed", "register_first", {"terms_version": target.config.terms_version, "terms_url": target.config.terms_url})
    conflict = target.people.conflict(login, opportunity.author, fresh=False)
    if conflict.conflicted:
        return Refusal("conflicted", "conflicted", {"reasons": list(conflict.reasons)})
    return None


def bid_refused(ctx, target: Target, refusal: Outcome, comment: dict) -> None:
    """A refused bid is audited, and a sealed one is still removed from the issue."""
    opportunity = target.opportunity
    audit(ctx, opportunity, "bid_refused", url=comment.get("html_url"), who=comment["user"]["login"], reason=refusal.code)
    if opportunity.bidding == "sealed" and accepts_bids(State(opportunity.state)):
        refusal.params["removed"] = True


def amount_refusal(opportunity, amount: Decimal) -> Optional[tuple[str, dict]]:
    """Why this amount cannot be bid on this opportunity (a refusal's code and values), or None."""
    if amount <= 0:
        return "amount_not_positive", {}
    if amount > opportunity.value:
        return "amount_over_value", {"value": opportunity.value}
    return None


def _bid_refusal(ctx, target: Target, cmd):
    """Why this bid's amount cannot be recorded, or None."""
    opportunity = target.opportunity
    if cmd.error:
        return refuse(cmd, "bid_usage", error=cmd.error, value=opportunity.value)
    found = amount_refusal(opportunity, cmd.args.amount)
    if found:
        return refuse(cmd, found[0], **found[1])
    if cmd.args.tax_words and opportunity.amounts_include_tax:
        return refuse(cmd, "amount_before_tax", words=cmd.args.tax_words)
    return None


@dataclass(frozen=True)
class Recorded:
    """A proposal version as recorded: what its receipt says."""

    receipt: str
    at: datetime
    sha256: str
    version: int
    replaced: bool
    late: bool  # written on time, applied after bidding closed: it joined the evaluation


def bid(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    refusal = _bid_refusal(ctx, target, cmd)
    if refusal is not None:
        bid_refused(ctx, target, refusal, comment)
        return refusal
    amount = cmd.args.amount
    recorded = record_bid(ctx, target, comment["user"]["login"], amount, cmd.args.proposal, ctx.written_at, comment.get("id"), comment.get("html_url"))
    sealed = opportunity.bidding == "sealed"
    return done(
        cmd,
        "bid_receipt",
        receipt=recorded.receipt,
        at=recorded.at,
        sha256=recorded.sha256,
        version=recorded.version,
        replaced=recorded.replaced,
        sealed=sealed,
        amount=None if sealed else amount,
        deadline=opportunity.deadline,
        timezone=opportunity.timezone,
        late=recorded.late,
        desk_base=ctx.settings.desk_base,
        opportunity_ref=f"{opportunity.repository}%23{opportunity.issue_number}",
    )


def record_bid(
    ctx, target: Target, login: str, amount: Decimal, text: str, at: datetime, comment_id: Optional[int] = None, url: Optional[str] = None
) -> Recorded:
    """Records a new version of this person's proposal (from a comment or the desk),
    after the checks (`may_bid`, `amount_refusal`) have passed."""
    opportunity = target.opportunity
    digest = receipts.proposal_sha256(amount, text)
    proposal = store.proposal_of(ctx.session, opportunity.id, login, lock=True)
    replaced = proposal is not None and proposal.status == "live"
    if proposal is None:
        proposal = store.insert_proposal(
            ctx.session,
            Proposal(opportunity_id=opportunity.id, bidder=login, amount=amount, submitted_at=at, receipt_number="", sha256=digest, current_version=0),
        )
    version = proposal.current_version + 1
    number = receipts.receipt_number(opportunity.repository, opportunity.issue_number, proposal.id, version)
    store.record_version(
        ctx.session,
        proposal,
        version=dict(
            proposal_id=proposal.id,
            version=version,
            amount=amount,
            text=text,
            sha256=digest,
            receipt_number=number,
            comment_id=comment_id,
            comment_url=url,
            delivery_id=ctx.delivery_id,
            submitted_at=at,
        ),
        terms=dict(current_version=version, amount=amount, submitted_at=at, status="live", withdrawn_at=None, receipt_number=number, sha256=digest),
        event=audit_event(ctx, opportunity, "bid_recorded", url=url, who=login, receipt=number, sha256=digest, version=version),
    )
    late = not accepts_bids(State(opportunity.state))
    if late:
        # Bidding closed meanwhile: the proposal joins the evaluation, and its evaluators are told.
        joined_evaluation(ctx, opportunity, proposal, version, at)
    refresh_summary(ctx, opportunity)
    return Recorded(number, at, digest, version, replaced, late)


def may_withdraw(ctx, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    opportunity = target.opportunity
    if not accepts_bids(State(opportunity.state)) or (opportunity.deadline and ctx.written_at >= opportunity.deadline):
        return Refusal("withdraw_closed", "after_bid")
    proposal = store.proposal_of(ctx.session, opportunity.id, login)
    if proposal is None or proposal.status != "live":
        return Refusal("no_proposal", "after_bid")
    return None


def withdraw(ctx, target: Target, cmd, comment: dict) -> Outcome:
    receipt = record_withdrawal(ctx, target, comment["user"]["login"], comment.get("html_url"))
    return done(cmd, "withdrawn", receipt=receipt)


def record_withdrawal(ctx, target: Target, login: str, url: Optional[str]) -> str:
    """Withdraws this person's live proposal (after `may_withdraw`); returns its receipt number."""
    opportunity = target.opportunity
    proposal = store.proposal_of(ctx.session, opportunity.id, login, lock=True)
    proposal.status = "withdrawn"
    proposal.withdrawn_at = ctx.now
    store.save(ctx.session, proposal)
    audit(ctx, opportunity, "bid_withdrawn", url=url, who=login, receipt=proposal.receipt_number)
    refresh_summary(ctx, opportunity)
    return proposal.receipt_number


def status(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    live = store.live_count(ctx.session, opportunity.id)
    return done(cmd, "status", state=opportunity.state, deadline=opportunity.deadline, timezone=opportunity.timezone, proposals=live)


def may_manage(ctx, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/extend and /cancel: the issuers'."""
    return None if target.people.is_issuer(login, fresh) else Refusal("not_issuer", "issuers_only")


def extend(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "extend_usage")
    live = store.live_count(ctx.session, opportunity.id)
    if not can_extend(State(opportunity.state), live):
        return refuse(cmd, "extend_closed", state=opportunity.state)
    try:
        deadline = parse_deadline(cmd.args.date_text, target.config.timezone, target.config.deadline_time)
    except DateError as error:
        return refuse(cmd, "extend_usage", error=error.code, **error.params)
    if deadline <= ctx.now or (opportunity.deadline and deadline <= opportunity.deadline):
        return refuse(cmd, "extend_not_later", deadline=opportunity.deadline, timezone=opportunity.timezone)
    old = opportunity.deadline
    opportunity.deadline = deadline
    opportunity.no_proposal_notice = False
    store.save(ctx.session, opportunity)
    audit(ctx, opportunity, "deadline_extended", url=comment.get("html_url"), who=login, **{"from": old.isoformat() if old else None, "to": deadline.isoformat()})
    if opportunity.state == State.EVALUATION.value:
        set_state(ctx, opportunity, State.OPEN, who=login, reason="extended")
    bidders = bidders_of(ctx.session, opportunity)
    if bidders:
        post_to_many(ctx, opportunity, "extended", bidders, deadline=deadline, timezone=opportunity.timezone, who=login)
    refresh_summary(ctx, opportunity)
    return done(cmd, "extended", deadline=deadline, timezone=opportunity.timezone)


def cancel(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "reason_required")
    if not can_cancel(State(opportunity.state)):
        return refuse(cmd, "cancel_too_late", state=opportunity.state)
    cancel_opportunity(ctx, opportunity, cmd.args.reason, login)
    return done(cmd, "cancelled")
