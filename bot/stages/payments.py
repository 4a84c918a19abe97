"""Pay on pull: pull requests tied to milestones, payments, /paid, /terminate, overdue notices.

The rules (which opportunity and milestone a pull request names, what merging
it pays) are in `bot.procurement.pull_requests`; this module turns a
`pull_request` event or a command into a call of them, and their decision
into stored rows and queued GitHub writes.

A pull request tied to an opportunity carries one comment of the bot, edited
in place as the pull request changes: what merging it will pay or why it pays
nothing, then what its merge or closing did. The comment is a named write
rendered by `prepare_pull_request_comment` when sent, so that it is created
once and edited afterwards even when several events come before the first
is sent.
"""

from __future__ import annotations

import json

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlmodel import Session

from bot.github.timestamps import parse_timestamp
from bot.github.requests import FollowUp, Prepared, Rendered
from bot.procurement.config import ConfigError, RepoConfig
from bot.pipeline.context import Context
from bot.messages import login as mention
from bot.messages import render
from bot.stages import finance
from bot.stages.effects import audit, load_config, post, refresh_summary, set_state
from bot.stages.outcomes import Outcome, Refusal, done, refuse
from bot.procurement import pull_requests as rules
from bot.procurement.lifecycle import BEFORE_AWARD, State
from bot.stages.target import Target
from storage import payments as ledger
from storage import procurement as store
from storage.tables import GitHubWrite, Opportunity, Payment, PullRequestLink

REFERENCE_LIMIT = 200
TEAM_NAME = re.compile(r"[^A-Za-z0-9._/-]")


@dataclass(frozen=True)
class PullRequest:
    """What the bot reads of a pull request event."""

    repository: str  # the base repository (a fork's pull request lives there too)
    number: int
    title: str
    body: str
    author: str
    html_url: str
    merged: bool
    merged_at: Optional[datetime]
    merged_by: Optional[str]


def pull_request_of(ctx: Context) -> Optional[PullRequest]:
    pr = ctx.payload.get("pull_request") or {}
    number = pr.get("number")
    if not isinstance(number, int) or not ctx.repository:
        return None
    return PullRequest(
        repository=ctx.repository,
        number=number,
        title=pr.get("title") or "",
        body=pr.get("body") or "",
        author=(pr.get("user") or {}).get("login", ""),
        html_url=pr.get("html_url") or "",
        merged=bool(pr.get("merged")),
        merged_at=parse_timestamp(pr.get("merged_at")),
        merged_by=(pr.get("merged_by") or {}).get("login") or ctx.sender.get("login"),
    )


# ---------------------------------------------------------------- reading the contract


def contract_facts(session: Session, opportunity: Opportunity) -> rules.ContractFacts:
    earned = {p.milestone_id for p in store.payments(session, opportunity.id) if p.status != "void"}
    milestones = [
        rules.MilestoneFacts(
            position=m.position,
            name=m.name,
            amount=m.contract_amount if m.contract_amount is not None else m.amount,
            status=m.status,
            paid=m.id in earned,
        )
        for m in store.milestones(session, opportunity.id)
    ]
    return rules.ContractFacts(
        state=opportunity.state,
        contractor=opportunity.contractor,
        contract_value=opportunity.contract_value,
        committed=ledger.committed(session, opportunity.id),
        milestones=milestones,
    )


def _named(ctx: Context, pr: PullRequest) -> list[Opportunity]:
    references = rules.named_issues(pr.body, pr.repository)
    if not references:
        return []
    return ledger.opportunities_named(ctx.session, ctx.installation_id, [(r.repository, r.number) for r in references])


def _config(ctx: Context, opportunity: Opportunity) -> Optional[RepoConfig]:
    try:
        return load_config(ctx, opportunity.repository)
    except ConfigError:
        return None


def _officers(config: Optional[RepoConfig]) -> list[str]:
    """Whom to tell about money: the listed contract officers, as mentions (`@login`, `@org/team`)."""
    if config is None:
        return []
    teams = ["@" + TEAM_NAME.sub("", f"{org}/{team}") for org, team in config.contract_officer_teams]
    return [mention(name) for name in config.contract_officer_logins] + teams


# ---------------------------------------------------------------- the comment on the pull request


def _say(ctx: Context, pr: PullRequest, link: PullRequestLink, **values) -> None:
    for key, default in (("milestones", []), ("payment", None), ("completed", False), ("terms_days", None), ("config_invalid", False)):
        values.setdefault(key, default)
    text = render("pull_request", mark=f"pull-request:{pr.repository}#{pr.number}", author=pr.author, **values)
    ctx.write(prepare_pull_request_comment.write(ctx.installation_id, f"{link.id}:{ctx.delivery_id}", link_id=link.id, text=text))


@Rendered.kind("pull_request_comment")
def prepare_pull_request_comment(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    """Edits the pull request's one comment, or creates it the first time."""
    link = ledger.link(session, body["link_id"])
    if link is None:
        return Prepared(skip=True)
    if link.comment_id:
        return Prepared("PATCH", f"/repos/{link.repository}/issues/comments/{link.comment_id}", {"body": body["text"]})
    write.then = json.dumps(remember_pull_request_comment.then(link_id=link.id))
    return Prepared("POST", f"/repos/{link.repository}/issues/{link.number}/comments", {"body": body["text"]})


@FollowUp.step("remember_pull_request_comment")
def remember_pull_request_comment(session: Session, then: dict, answer) -> None:
    link = ledger.link(session, then["link_id"])
    if link is not None and isinstance(answer.data, dict) and answer.data.get("id"):
        link.comment_id = answer.data["id"]
        session.add(link)
        session.flush()


# ---------------------------------------------------------------- pull request events


def pull_request_changed(ctx: Context) -> None:
    """Opened, edited or reopened: say what merging it will pay, or why nothing."""
    pr = pull_request_of(ctx)
    if pr is None:
        return
    tied = _tie(ctx, pr)
    if tied is None:
        return
    link, named = tied
    if len(named) > 1:
        _say(ctx, pr, link, phase="open", o=named[0], others=named, reason=rules.SEVERAL_OPPORTUNITIES, decision=None)
        return
    opportunity = named[0]
    facts = contract_facts(ctx.session, opportunity)
    decision = rules.decide(pr.author, facts, rules.named_milestone(pr.body))
    config = _config(ctx, opportunity)
    _say(
        ctx,
        pr,
        link,
        phase="open",
        o=opportunity,
        others=[],
        reason=decision.reason,
        decision=decision,
        milestones=facts.milestones,
        terms_days=(config or RepoConfig()).payment_terms_days,
    )


def _tie(ctx: Context, pr: PullRequest):
    """The opportunities the body names, with the pull request's link kept to the
    first; None (and the comment told, once) when it names none any more."""
    named = _named(ctx, pr)
    if not named:
        _unlinked(ctx, pr)
        return None
    return ledger.link_pull_request(ctx.session, pr.repository, pr.number, named[0].id), named


def _unlinked(ctx: Context, pr: PullRequest) -> None:
    """The body no longer names an opportunity: the comment says so, once."""
    link = store.pull_request_link(ctx.session, pr.repository, pr.number)
    if link is None or link.opportunity_id is None:
        return
    link = ledger.link_pull_request(ctx.session, pr.repository, pr.number, None)
    _say(ctx, pr, link, phase="unlinked", o=None, others=[], reason=None, decision=None)


def pull_request_closed(ctx: Context) -> None:
    pr = pull_request_of(ctx)
    if pr is None:
        return
    if pr.merged:
        reverted = rules.reverted_pull_request(pr.body)
        if reverted is not None:
            flag_revert(ctx, pr, reverted)
        merged(ctx, pr)
        return
    tied = _tie(ctx, pr)
    if tied is None:
        return
    link, named = tied
    decision = None
    if len(named) == 1:
        decision = rules.decide(pr.author, contract_facts(ctx.session, named[0]), rules.named_milestone(pr.body))
    _say(ctx, pr, link, phase="closed", o=named[0], others=named if len(named) > 1 else [], reason=None, decision=decision)


def merged(ctx: Context, pr: PullRequest) -> None:
    """The merge accepts the milestone and records its payment, at most once."""
    tied = _tie(ctx, pr)
    if tied is None:
        return
    link, named = tied
    if len(named) > 1:
        _say(ctx, pr, link, phase="merged", o=named[0], others=named, reason=rules.SEVERAL_OPPORTUNITIES, decision=None)
        return
    opportunity = ledger.lock_opportunity(ctx.session, named[0].id)
    if ledger.payment_of_pull_request(ctx.session, pr.repository, pr.number) is not None:
        ctx.log.info("merge of %s#%d already paid: delivered again, nothing to do", pr.repository, pr.number)
        return
    facts = contract_facts(ctx.session, opportunity)
    decision = rules.decide(pr.author, facts, rules.named_milestone(pr.body))
    if not decision.pays:
        audit(ctx, opportunity, "merge_pays_nothing", url=pr.html_url, who=pr.merged_by, author=pr.author, reason=decision.reason)
        _say(ctx, pr, link, phase="merged", o=opportunity, others=[], reason=decision.reason, decision=decision, milestones=facts.milestones)
        return

    config = _config(ctx, opportunity)
    terms_days = (config or RepoConfig()).payment_terms_days
    merged_at = pr.merged_at or ctx.received_at
    milestone = next(m for m in store.milestones(ctx.session, opportunity.id) if m.position == decision.milestone.position)
    payment = ledger.add_payment(
        ctx.session,
        Payment(
            opportunity_id=opportunity.id,
            milestone_id=milestone.id,
            contractor=opportunity.contractor,
            amount=decision.amount,
            pull_request_url=pr.html_url,
            pull_request_number=pr.number,
            merged_at=merged_at,
            merged_by=pr.merged_by,
            due_at=merged_at + timedelta(days=terms_days),  # from the certification, when one is required
            status=finance.status_at_merge(config),
        ),
    )
    milestone.status = "accepted"
    store.save(ctx.session, milestone)
    audit(
        ctx,
        opportunity,
        "payment_recorded",
        url=pr.html_url,
        who=pr.merged_by,
        payment_id=payment.id,
        milestone=milestone.position,
        amount=str(payment.amount),
        due=payment.due_at.isoformat(),
        terms_days=terms_days,
        config_invalid=config is None,
    )
    completed = rules.completes_contract(facts.milestones, milestone.position)
    if completed:
        set_state(ctx, opportunity, State.COMPLETED, who=pr.merged_by, reason="last milestone accepted")
    refresh_summary(ctx, opportunity)
    _say(
        ctx,
        pr,
        link,
        phase="merged",
        o=opportunity,
        others=[],
        reason=None,
        decision=decision,
        payment=payment,
        completed=completed,
        terms_days=terms_days,
        config_invalid=config is None,
    )


def flag_revert(ctx: Context, pr: PullRequest, reverted: rules.IssueReference) -> None:
    """A merged revert of a paid (or payable) milestone's pull request: the
    contract officers are told on the opportunity; nothing is taken back."""
    payment = ledger.payment_of_pull_request(ctx.session, reverted.repository, reverted.number)
    if payment is None or payment.status == "void" or payment.revert_flagged_at is not None:
        return
    opportunity = ledger.lock_opportunity(ctx.session, payment.opportunity_id)
    if opportunity is None or opportunity.installation_id != ctx.installation_id:
        return
    payment.revert_flagged_at = ctx.now
    store.save(ctx.session, payment)
    officers = _officers(_config(ctx, opportunity))
    post(
        ctx,
        opportunity,
        render(
            "payment_reverted",
            officers=officers,
            payment=payment,
            milestone=ledger.milestone(ctx.session, payment.milestone_id),
            revert_url=pr.html_url,
            merged_by=pr.merged_by,
        ),
    )
    audit(ctx, opportunity, "payment_revert_flagged", url=pr.html_url, who=pr.merged_by, payment_id=payment.id, reverted=payment.pull_request_url)


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

