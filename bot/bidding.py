"""Commands of the bidding half: /register, /bid, /withdraw, /status, /help, /extend, /cancel."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot import github_writes as gw
from bot.opportunities import audit, bidders_of, cancel as cancel_opportunity, post, refresh_summary, set_state
from bot.outcomes import Outcome, done, refuse
from bot.procurement import receipts
from bot.procurement.dates import DateError, parse_deadline
from bot.procurement.lifecycle import State, accepts_bids, can_cancel, can_extend, takes_late_arrival
from bot.target import Target
from bot.messages import render
from storage import procurement as store
from storage.tables import Proposal, ProposalVersion, Registration


def submitted_at(ctx, comment: dict) -> datetime:
    """When GitHub recorded the comment: the time that counts against a deadline."""
    created = comment.get("created_at")
    if isinstance(created, str):
        try:
            return datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            pass
    return ctx.received_at


def register(ctx, target: Target, cmd, comment: dict) -> Outcome:
    login = comment["user"]["login"]
    config = target.config
    store.lock_registration(ctx.session, login)
    existing = store.registration(ctx.session, login)
    if existing and existing.terms_version == config.terms_version:
        return done(cmd, "already_registered", at=existing.registered_at, terms_url=existing.terms_url, terms_version=existing.terms_version)
    row = Registration(
        login=login,
        user_id=comment["user"].get("id"),
        terms_url=config.terms_url,
        terms_version=config.terms_version,
        comment_url=comment.get("html_url"),
        registered_at=ctx.now,
    )
    store.save(ctx.session, row)
    audit(ctx, target.opportunity, "registered", url=comment.get("html_url"), who=login, terms_version=config.terms_version)
    return done(cmd, "registered", at=ctx.now, terms_url=config.terms_url, terms_version=config.terms_version)


def _bid_refusal(ctx, target: Target, cmd, login: str, at: datetime):
    """Why this bid cannot be recorded, or None."""
    opportunity = target.opportunity
    state = State(opportunity.state)
    if state == State.CANCELLED:
        return refuse(cmd, "cancelled")
    if state == State.NEEDS_CHANGES:
        return refuse(cmd, "not_open_yet")
    if opportunity.deadline is not None and at >= opportunity.deadline:
        return refuse(cmd, "deadline_passed", deadline=opportunity.deadline, timezone=opportunity.timezone)
    if not accepts_bids(state) and not takes_late_arrival(state):
        # Written on time, but GitHub delivered it only after an award was recommended.
        return refuse(cmd, "arrived_after_award", deadline=opportunity.deadline, timezone=opportunity.timezone, at=at)
    if cmd.error:
        return refuse(cmd, "bid_usage", error=cmd.error, value=opportunity.value)
    registration = store.registration(ctx.session, login)
    if registration is None:
        return refuse(cmd, "not_registered")
    if registration.terms_version != target.config.terms_version:
        return refuse(cmd, "terms_changed", terms_version=target.config.terms_version, terms_url=target.config.terms_url)
    conflict = target.people.conflict(login, opportunity.author, fresh=False)
    if conflict.conflicted:
        return refuse(cmd, "conflicted", reasons=list(conflict.reasons))
    amount = cmd.args.amount
    if amount <= 0:
        return refuse(cmd, "amount_not_positive")
    if amount > opportunity.value:
        return refuse(cmd, "amount_over_value", value=opportunity.value)
    return None


def bid(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    at = submitted_at(ctx, comment)
    target.people.note_association(login, comment.get("author_association"))
    refusal = _bid_refusal(ctx, target, cmd, login, at)
    if refusal is not None:
        audit(ctx, opportunity, "bid_refused", url=comment.get("html_url"), who=login, reason=refusal.code)
        if opportunity.bidding == "sealed" and accepts_bids(State(opportunity.state)):
            refusal.params["removed"] = True
        return refusal
    amount, text = cmd.args.amount, cmd.args.proposal
    digest = receipts.proposal_sha256(amount, text)
    proposal = store.proposal_of(ctx.session, opportunity.id, login, lock=True)
    replaced = proposal is not None and proposal.status == "live"
    if proposal is None:
        proposal = Proposal(
            opportunity_id=opportunity.id, bidder=login, amount=amount, submitted_at=at, receipt_number="", sha256=digest, current_version=0
        )
        store.save(ctx.session, proposal)
    version = proposal.current_version + 1
    number = receipts.receipt_number(opportunity.repository, opportunity.issue_number, proposal.id, version)
    # Added, not flushed one by one: they go to the database together at the next query.
    ctx.session.add(
        ProposalVersion(
            proposal_id=proposal.id,
            version=version,
            amount=amount,
            text=text,
            sha256=digest,
            receipt_number=number,
            comment_id=comment.get("id"),
            comment_url=comment.get("html_url"),
            delivery_id=ctx.delivery_id,
            submitted_at=at,
        )
    )
    proposal.current_version = version
    proposal.amount = amount
    proposal.submitted_at = at
    proposal.status = "live"
    proposal.withdrawn_at = None
    proposal.receipt_number = number
    proposal.sha256 = digest
    ctx.session.add(proposal)
    audit(ctx, opportunity, "bid_recorded", url=comment.get("html_url"), who=login, receipt=number, sha256=digest, version=version)
    late = not accepts_bids(State(opportunity.state))
    if late:
        # Bidding closed meanwhile: the proposal joins the evaluation, and its evaluators are told.
        from bot.late_proposals import joined_evaluation

        joined_evaluation(ctx, opportunity, proposal, version, at)
    refresh_summary(ctx, opportunity)
    sealed = opportunity.bidding == "sealed"
    return done(
        cmd,
        "bid_receipt",
        receipt=number,
        at=at,
        sha256=digest,
        version=version,
        replaced=replaced,
        sealed=sealed,
        amount=None if sealed else amount,
        deadline=opportunity.deadline,
        timezone=opportunity.timezone,
        late=late,
    )


def withdraw(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if not accepts_bids(State(opportunity.state)) or (opportunity.deadline and submitted_at(ctx, comment) >= opportunity.deadline):
        return refuse(cmd, "withdraw_closed")
    proposal = store.proposal_of(ctx.session, opportunity.id, login, lock=True)
    if proposal is None or proposal.status != "live":
        return refuse(cmd, "no_proposal")
    proposal.status = "withdrawn"
    proposal.withdrawn_at = ctx.now
    store.save(ctx.session, proposal)
    audit(ctx, opportunity, "bid_withdrawn", url=comment.get("html_url"), who=login, receipt=proposal.receipt_number)
    refresh_summary(ctx, opportunity)
    return done(cmd, "withdrawn", receipt=proposal.receipt_number)


def status(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    live = store.live_count(ctx.session, opportunity.id)
    return done(cmd, "status", state=opportunity.state, deadline=opportunity.deadline, timezone=opportunity.timezone, proposals=live)


def help_(ctx, target: Target, cmd, comment: dict) -> Outcome:
    from bot.help import commands_for

    login = comment["user"]["login"]
    return done(cmd, "help", rows=commands_for(ctx, target, login), where=target.kind)


def extend(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if not target.people.is_issuer(login):
        return refuse(cmd, "not_issuer")
    if cmd.error:
        return refuse(cmd, "extend_usage")
    live = store.live_count(ctx.session, opportunity.id)
    if not can_extend(State(opportunity.state), live):
        return refuse(cmd, "extend_closed", state=opportunity.state)
    try:
        deadline = parse_deadline(cmd.args.date_text, target.config.timezone, target.config.deadline_time)
    except DateError:
        return refuse(cmd, "extend_usage")
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
        post(ctx, opportunity, render("extended", bidders=bidders, deadline=deadline, timezone=opportunity.timezone, who=login))
    refresh_summary(ctx, opportunity)
    return done(cmd, "extended", deadline=deadline, timezone=opportunity.timezone)


def cancel(ctx, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    if not target.people.is_issuer(login):
        return refuse(cmd, "not_issuer")
    if cmd.error:
        return refuse(cmd, "reason_required")
    if not can_cancel(State(opportunity.state)):
        return refuse(cmd, "cancel_too_late", state=opportunity.state)
    cancel_opportunity(ctx, opportunity, cmd.args.reason, login)
    return done(cmd, "cancelled")
