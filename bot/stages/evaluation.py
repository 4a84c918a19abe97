"""Evaluation: the evaluation issue, /score, /award, the award-review issue, /approve, /reject.

PRODUCT.md "People", "Scores and ranking" and "The award-review issue": after
the deadline evaluators score the proposals and one of them recommends an
award; a contract officer approves or rejects it on the award-review issue.
A bidder never scores, recommends or approves; whoever recommended an award
does not approve it while another contract officer exists.
"""

from __future__ import annotations

from typing import Optional

from bot.stages import award_review, evaluation_issue, finance
from bot.github import requests as gw
from bot.pipeline.context import Context
from bot.messages import render
from bot.stages.effects import audit, post, refresh_summary, set_state
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.procurement.lifecycle import State
from bot.procurement.ranking import split_contract
from bot.stages.standings import Standing, highest_ranked, scored_count, standings
from bot.stages.target import Target
from storage import procurement as store
from storage.tables import Award, Opportunity, Score

# GitHub notifies at most 50 people from one comment: longer debriefs are split.
MENTIONS_PER_COMMENT = 50


# ---------------------------------------------------------------- the evaluation issue


def open_evaluation_issue(ctx: Context, opportunity: Opportunity) -> None:
    """Bidding closed with live proposals: publish them to the evaluators."""
    evaluation_issue.request(ctx, opportunity)
    audit(
        ctx,
        opportunity,
        "evaluation_issue_opened",
        who="devex-bot",
        repository=opportunity.review_repository or opportunity.repository,
        proposals=store.live_count(ctx.session, opportunity.id),
    )


def close_evaluation_issue(ctx: Context, opportunity: Opportunity, why: str = "cancelled") -> None:
    """Approval or cancellation ends the evaluation: say so on its issue, then close it."""
    if opportunity.evaluation_issue_number is None and store.last_event(ctx.session, opportunity.id, "evaluation_issue_opened") is None:
        return
    evaluation_issue.close(ctx, opportunity, why)


def withdraw_pending_award(ctx: Context, opportunity: Opportunity, why: str) -> None:
    """The opportunity was cancelled while an award was under review."""
    award = store.pending_award(ctx.session, opportunity.id)
    if award is None:
        return
    award.status = "cancelled"
    award.decided_at = ctx.now
    award.decision_reason = why
    store.save(ctx.session, award)
    audit(ctx, opportunity, "award_cancelled", award_id=award.id, contractor=award.contractor, reason=why)
    award_review.close(ctx, opportunity.installation_id, award, "cancelled", note=True)


# ---------------------------------------------------------------- who may


def _bidder(ctx: Context, opportunity: Opportunity, login: str) -> bool:
    return store.proposal_of(ctx.session, opportunity.id, login) is not None


def may_evaluate(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/score and /award: an evaluator who did not bid, once bidding has closed."""
    opportunity = target.opportunity
    if _bidder(ctx, opportunity, login):
        return Refusal("bidder_cannot", "evaluators_only")
    if not target.people.is_evaluator(login, fresh):
        return Refusal("not_evaluator", "evaluators_only")
    if opportunity.state != State.EVALUATION.value:
        return Refusal("not_in_evaluation", "in_evaluation", {"state": opportunity.state})
    return None


def may_decide(ctx: Context, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    """/approve and /reject: a contract officer who did not bid, while the award is pending."""
    award = target.award
    if award is None or award.status != "pending":
        status = award.status if award else "missing"
        by, at = (award.decided_by, award.decided_at) if award else (None, None)
        return Refusal("award_decided", "award_decided", {"status": status, "by": by, "at": at})
    if _bidder(ctx, target.opportunity, login):
        return Refusal("bidder_cannot", "officers_only")
    if not target.people.is_contract_officer(login, fresh):
        return Refusal("not_contract_officer", "officers_only")
    return None


def _usage_refusal(cmd) -> Optional[Outcome]:
    return refuse(cmd, f"{cmd.name}_usage", error=cmd.error) if cmd.error else None


def _proposal_refusal(cmd, proposal, user: str) -> Optional[Outcome]:
    if proposal is None:
        return refuse(cmd, "no_such_proposal", user=user)
    if proposal.status != "live":
        return refuse(cmd, "proposal_withdrawn", user=proposal.bidder)
    return None


# ---------------------------------------------------------------- /score and /award


def score(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    refusal = _usage_refusal(cmd)
    if refusal is not None:
        return refusal
    proposal = store.proposal_of(ctx.session, opportunity.id, cmd.args.user, lock=True)
    refusal = _proposal_refusal(cmd, proposal, cmd.args.user)
    if refusal is not None:
        return refusal
    before = next((s for s in _standing_of(ctx, opportunity, proposal.id).latest if s.evaluator.lower() == login.lower()), None)
    store.save(
        ctx.session,
        Score(
            proposal_id=proposal.id,
            evaluator=login,
            score=cmd.args.score,
            note=cmd.args.note or None,
            comment_url=comment.get("html_url"),
            scored_at=ctx.now,
        ),
    )
    audit(ctx, opportunity, "proposal_scored", url=comment.get("html_url"), who=login, bidder=proposal.bidder, score=cmd.args.score)
    refresh_summary(ctx, opportunity)
    rows = standings(ctx.session, opportunity.id)
    return done(
        cmd,
        "scored",
        where=target.kind,  # on the opportunity the reply repeats no score
        bidder=proposal.bidder,
        score=cmd.args.score,
        previous=before.score if before else None,
        scored=scored_count(rows),
        live=sum(1 for s in rows if s.live),
    )


def _standing_of(ctx: Context, opportunity: Opportunity, proposal_id: int) -> Standing:
    return next(s for s in standings(ctx.session, opportunity.id) if s.proposal.id == proposal_id)


def award(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    opportunity = target.opportunity
    login = comment["user"]["login"]
    refusal = _usage_refusal(cmd)
    if refusal is not None:
        return refusal
    proposal = store.proposal_of(ctx.session, opportunity.id, cmd.args.user)
    refusal = _proposal_refusal(cmd, proposal, cmd.args.user)
    if refusal is not None:
        return refusal
    rows = standings(ctx.session, opportunity.id)
    top = highest_ranked(rows)
    mine = next(s for s in rows if s.proposal.id == proposal.id)
    reason = cmd.args.reason.strip()
    if top is not None and top.proposal.id != proposal.id and not reason:
        return refuse(
            cmd, "award_reason_required", where=target.kind, user=proposal.bidder, rank=mine.rank, average=mine.average, highest=top.bidder, highest_average=top.average
        )
    conflict = target.people.conflict(proposal.bidder, opportunity.author)
    if conflict.conflicted:
        return refuse(cmd, "contractor_conflicted", user=proposal.bidder, reasons=list(conflict.reasons))
    row = Award(
        opportunity_id=opportunity.id,
        proposal_id=proposal.id,
        contractor=proposal.bidder,
        amount=proposal.amount,
        recommended_by=login,
        reason=reason or None,
        highest_ranked=top.bidder if top else None,
        status="pending",
        review_repository=opportunity.review_repository or opportunity.repository,
        recommended_at=ctx.now,
    )
    store.save(ctx.session, row)
    audit(
        ctx,
        opportunity,
        "award_recommended",
        url=comment.get("html_url"),
        who=login,
        award_id=row.id,
        contractor=row.contractor,
        amount=row.amount,
        reason=row.reason,
        highest_ranked=row.highest_ranked,
        # What the award review shows as the conflict check of the contractor.
        conflicts=list(conflict.reasons),
        permission=target.people.permission(proposal.bidder),
        # Awards to the same contractor by the same organization that, with this one, pass the cap.
        splitting=finance.splitting(ctx, opportunity, row.contractor, row.amount, target.config),
    )
    set_state(ctx, opportunity, State.REVIEW, who=login, award_id=row.id)
    award_review.request(ctx, opportunity, row)
    refresh_summary(ctx, opportunity)
    return done(cmd, "award_recommended", where=target.kind, contractor=row.contractor, amount=row.amount, highest=row.highest_ranked, reason=row.reason)


# ---------------------------------------------------------------- /approve and /reject


def approve(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    opportunity, award_row = target.opportunity, target.award
    login = comment["user"]["login"]
    justification = cmd.args.justification if cmd.args is not None else ""
    self_approved = login.lower() == award_row.recommended_by.lower()
    if self_approved:
        others = [o for o in target.people.contract_officers_besides(login) if not _bidder(ctx, opportunity, o)]
        if others:
            return refuse(cmd, "own_recommendation", others=len(others))
        if not justification:
            # Separation of duties made visible: no other officer exists, so the one who
            # recommended says why they approve it themself, on the record.
            return refuse(cmd, "justification_required")
    conflict = target.people.conflict(award_row.contractor, opportunity.author)
    if conflict.conflicted:
        return refuse(cmd, "contractor_conflicted", user=award_row.contractor, reasons=list(conflict.reasons))
    proposal = store.proposal(ctx.session, award_row.proposal_id)
    refusal = _proposal_refusal(cmd, proposal, award_row.contractor)
    if refusal is not None:
        return refusal
    # Counted again now: another award to the contractor may have been approved since /award.
    splitting = finance.splitting(ctx, opportunity, award_row.contractor, award_row.amount, target.config)
    refusal = finance.splitting_refusal(cmd, splitting, justification)
    if refusal is not None:
        return refusal

    award_row.status = "approved"
    award_row.decided_by = login
    award_row.decided_at = ctx.now
    award_row.decision_reason = justification[:1000] or None
    store.save(ctx.session, award_row)
    opportunity.contractor = award_row.contractor
    opportunity.contract_value = award_row.amount
    milestones = store.milestones(ctx.session, opportunity.id)
    for milestone, share in zip(milestones, split_contract(opportunity.value, award_row.amount, [m.amount for m in milestones])):
        milestone.contract_amount = share
    store.save(ctx.session, opportunity, *milestones)
    set_state(ctx, opportunity, State.AWARDED, who=login, award_id=award_row.id)
    audit(
        ctx,
        opportunity,
        "award_approved",
        url=comment.get("html_url"),
        who=login,
        award_id=award_row.id,
        contractor=award_row.contractor,
        amount=award_row.amount,
        recommended_by=award_row.recommended_by,
        self_approved=self_approved,
        justification=justification or None,
        splitting=splitting,
    )
    ctx.write(gw.assign(opportunity.installation_id, opportunity.repository, opportunity.issue_number, [award_row.contractor]))
    _announce(ctx, opportunity, award_row, milestones)
    close_evaluation_issue(ctx, opportunity, "approved")
    target.after_reply.extend(award_review.closing(opportunity.installation_id, award_row, "approved"))
    refresh_summary(ctx, opportunity)
    return done(cmd, "approved", contractor=award_row.contractor, amount=award_row.amount, self_approved=self_approved, justification=justification or None)


def _announce(ctx: Context, opportunity: Opportunity, award_row: Award, milestones) -> None:
    """One announcement: the winner, the amount, the milestones. Each other bidder is told
    the decision is made and that their own rank, score and notes are on their desk:
    the public thread carries no other bidder's amount, score or rank."""
    rows = [s for s in standings(ctx.session, opportunity.id) if s.live]
    others = [s for s in rows if s.bidder.lower() != award_row.contractor.lower()]
    chunks = [others[i : i + MENTIONS_PER_COMMENT] for i in range(0, len(others), MENTIONS_PER_COMMENT)]
    post(ctx, opportunity, render("awarded", o=opportunity, award=award_row, milestones=milestones, debrief=[], ranked=len(rows), more=False))
    for chunk in chunks:
        post(ctx, opportunity, render("debrief", o=opportunity, debrief=chunk, desk_base=ctx.settings.desk_base))


def reject(ctx: Context, target: Target, cmd, comment: dict) -> Outcome:
    opportunity, award_row = target.opportunity, target.award
    login = comment["user"]["login"]
    if cmd.error:
        return refuse(cmd, "reason_required")
    award_row.status = "rejected"
    award_row.decided_by = login
    award_row.decided_at = ctx.now
    award_row.decision_reason = cmd.args.reason
    store.save(ctx.session, award_row)
    set_state(ctx, opportunity, State.EVALUATION, who=login, award_id=award_row.id, reason="award_rejected")
    audit(ctx, opportunity, "award_rejected", url=comment.get("html_url"), who=login, award_id=award_row.id, contractor=award_row.contractor, reason=cmd.args.reason)
    post(ctx, opportunity, render("award_rejected", award=award_row, who=login, reason=cmd.args.reason))
    target.after_reply.extend(award_review.closing(opportunity.installation_id, award_row, "rejected"))
    refresh_summary(ctx, opportunity)
    return done(cmd, "rejected")
