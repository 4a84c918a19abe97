"""An issue becomes an opportunity, is validated, opens, closes at its deadline, or is cancelled.

The rules (the form, the lifecycle) are in `bot.procurement`; this module turns
an event into a call of them, and their decision into stored rows and queued
GitHub writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from bot import github_writes as gw
from bot.config import ConfigError, RepoConfig
from bot.context import Context
from bot.messages import render
from bot.people import People
from bot.procurement.form import OpportunityForm, parse_opportunity_form
from bot.procurement.lifecycle import State, can_edit_terms
from bot.sender import Prepared
from storage import procurement as store
from storage.tables import GitHubWrite, Opportunity

SUMMARY = "summary"


# ---------------------------------------------------------------- helpers


def load_config(ctx: Context, repository: Optional[str] = None) -> RepoConfig:
    return ctx.configs.load(ctx.session, ctx.github, repository or ctx.repository)


def issue_of(ctx: Context) -> dict:
    return ctx.payload.get("issue") or {}


def actor(ctx: Context) -> str:
    return ctx.sender.get("login", "")


def audit(ctx: Context, opportunity: Optional[Opportunity], kind: str, url: Optional[str] = None, who: Optional[str] = None, **detail: Any) -> None:
    store.record(
        ctx.session,
        kind=kind,
        actor=who or actor(ctx) or "devex-bot",
        opportunity_id=opportunity.id if opportunity else None,
        at=ctx.now,
        delivery_id=ctx.delivery_id,
        url=url,
        **detail,
    )


def post(ctx: Context, opportunity: Opportunity, body: str, then: Optional[dict] = None) -> None:
    ctx.write(gw.comment(opportunity.installation_id, opportunity.repository, opportunity.issue_number, body, then))


def refresh_summary(ctx: Context, opportunity: Opportunity) -> None:
    ctx.write(gw.named(opportunity.installation_id, SUMMARY, str(opportunity.id), opportunity_id=opportunity.id))


def set_state(ctx: Context, opportunity: Opportunity, new: State, **detail: Any) -> None:
    """Moves an opportunity, relabels its issue, records the change."""
    old = opportunity.state
    if old == new.value:
        return
    opportunity.state = new.value
    opportunity.updated_at = ctx.now
    if new == State.OPEN and opportunity.opened_at is None:
        opportunity.opened_at = ctx.now  # the board lists newest first by this
    store.save(ctx.session, opportunity)
    if old:
        ctx.write(gw.remove_label(opportunity.installation_id, opportunity.repository, opportunity.issue_number, State(old).label))
    ctx.write(gw.add_labels(opportunity.installation_id, opportunity.repository, opportunity.issue_number, [new.label]))
    audit(ctx, opportunity, "state_changed", **{"from": old, "to": new.value}, **detail)


def issuers_of(opportunity: Opportunity, config: RepoConfig) -> list[str]:
    """Whom to tell about the opportunity: its author and the listed issuers."""
    seen, names = set(), []
    for login in [opportunity.author, *config.issuer_logins]:
        if login and login.lower() not in seen:
            seen.add(login.lower())
            names.append(login)
    return names


def bidders_of(session: Session, opportunity: Opportunity, live_only: bool = True) -> list[str]:
    return [p.bidder for p in store.proposals(session, opportunity.id, live_only=live_only)]


def review_repository_private(ctx: Context, config: RepoConfig) -> Optional[bool]:
    """Whether proposals published at the deadline stay private: asked of GitHub."""
    target = config.review_repository or ctx.repository
    if target == ctx.repository and "private" in (ctx.payload.get("repository") or {}):
        return bool(ctx.payload["repository"]["private"])
    if ctx.github is None:
        return None
    return ctx.github.repository_private(target)


# ---------------------------------------------------------------- validation


def _apply_form(opportunity: Opportunity, form: OpportunityForm, config: RepoConfig) -> None:
    opportunity.value = form.value
    opportunity.deadline = form.deadline
    opportunity.problem = form.problem
    opportunity.acceptance_criteria = form.acceptance_criteria
    opportunity.evaluation_criteria = form.evaluation_criteria or None
    opportunity.skills = form.skills or None


def _terms_changed(ctx: Context, opportunity: Opportunity, form: OpportunityForm) -> bool:
    current = [(m.name, m.amount) for m in store.milestones(ctx.session, opportunity.id)]
    wanted = [(m.name, m.amount) for m in form.milestones]
    return opportunity.value != form.value or opportunity.deadline != form.deadline or current != wanted


def _problems_message(ctx: Context, opportunity: Opportunity, problems, config: RepoConfig) -> None:
    body = render(
        "form_problems",
        mark=f"problems:{opportunity.id}",
        author=opportunity.author,
        problems=problems,
        config=config,
    )
    if opportunity.problems_comment_id:
        ctx.write(gw.edit_comment(opportunity.installation_id, opportunity.repository, opportunity.problems_comment_id, body))
    else:
        post(ctx, opportunity, body, then={"op": "remember_problems", "opportunity_id": opportunity.id})


def validate(ctx: Context, *, labelled: bool, quiet: bool = False) -> None:
    """Labelled, opened with the label, or edited: read the body and act on it.
    `quiet`: a refusal is not told (GitHub sends `labeled` too, which tells it)."""
    issue = issue_of(ctx)
    number = issue.get("number")
    if not isinstance(number, int) or issue.get("pull_request"):
        return
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, number, lock=True)
    if opportunity is not None and opportunity.state not in (State.NEEDS_CHANGES.value, State.OPEN.value):
        return
    if opportunity is None and not labelled:
        return
    if opportunity is not None and labelled and opportunity.state == State.OPEN.value:
        # `opened` with the label and `labeled` both arrive for a form issue: one opening.
        return
    try:
        config = load_config(ctx)
    except ConfigError as error:
        ctx.write(gw.comment(ctx.installation_id, ctx.repository, number, render("config_invalid", problems=error.problems, author=actor(ctx))))
        audit(ctx, opportunity, "config_invalid", problems=error.problems)
        return
    if opportunity is None and not People(ctx.github, ctx.repository, config).is_issuer(actor(ctx)):
        # Only an issuer publishes: anyone may open an issue from the form, and the
        # form adds the label by itself.
        audit(ctx, None, "publish_refused", issue=number)
        if not quiet:
            ctx.write(gw.comment(ctx.installation_id, ctx.repository, number, render("publish_refused", author=actor(ctx), label=config.label)))
        return
    form, problems = parse_opportunity_form(
        issue.get("body"), value_cap=config.value_cap, tz=config.timezone, deadline_time=config.deadline_time, now=ctx.now
    )
    created = opportunity is None
    if created:
        opportunity = Opportunity(
            installation_id=ctx.installation_id,
            repository=ctx.repository,
            issue_number=number,
            title=issue.get("title") or "",
            html_url=issue.get("html_url") or "",
            author=(issue.get("user") or {}).get("login", ""),
            state="",
            bidding=config.bidding,
            amounts_include_tax=config.amounts_include_tax,
            timezone=config.timezone,
            review_repository=config.review_repository or ctx.repository,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        store.save(ctx.session, opportunity)
        audit(ctx, opportunity, "opportunity_labelled")
    opportunity.title = issue.get("title") or opportunity.title
    # The public board lists public repositories only, and not those with `board: false`.
    if isinstance((ctx.payload.get("repository") or {}).get("private"), bool):
        opportunity.repository_private = ctx.payload["repository"]["private"]
    opportunity.on_board = config.board
    live = store.live_count(ctx.session, opportunity.id)

    if form is not None and opportunity.state == State.OPEN.value and not can_edit_terms(State.OPEN, live) and _terms_changed(ctx, opportunity, form):
        post(ctx, opportunity, render("edit_refused", author=actor(ctx), proposals=live))
        audit(ctx, opportunity, "edit_refused", proposals=live)
        return
    if form is None:
        if opportunity.state == State.OPEN.value and live:
            # Bidding goes on under the terms bidders saw; the author is told what is wrong.
            _problems_message(ctx, opportunity, problems, config)
            audit(ctx, opportunity, "edit_invalid", problems=[p.code for p in problems])
            return
        _problems_message(ctx, opportunity, problems, config)
        set_state(ctx, opportunity, State.NEEDS_CHANGES, problems=[p.code for p in problems])
        store.save(ctx.session, opportunity)
        if opportunity.summary_comment_id:
            refresh_summary(ctx, opportunity)
        return

    _apply_form(opportunity, form, config)
    opportunity.bidding = config.bidding
    opportunity.amounts_include_tax = config.amounts_include_tax
    opportunity.timezone = config.timezone
    opportunity.review_repository = config.review_repository or ctx.repository
    opportunity.review_repository_private = review_repository_private(ctx, config)
    store.save(ctx.session, opportunity)
    store.replace_milestones(ctx.session, opportunity.id, [(m.name, m.amount) for m in form.milestones])
    if opportunity.problems_comment_id:
        ctx.write(
            gw.edit_comment(
                opportunity.installation_id,
                opportunity.repository,
                opportunity.problems_comment_id,
                render("form_fixed", mark=f"problems:{opportunity.id}", author=opportunity.author),
            )
        )
    was_open = opportunity.state == State.OPEN.value
    set_state(ctx, opportunity, State.OPEN, value=str(form.value), deadline=form.deadline.isoformat())
    if was_open:
        audit(ctx, opportunity, "opportunity_edited", value=str(form.value), deadline=form.deadline.isoformat())
    refresh_summary(ctx, opportunity)


# ---------------------------------------------------------------- closing and cancelling


def close_bidding(ctx: Context, opportunity: Opportunity) -> None:
    """The deadline passed: evaluation, with the proposals published to the evaluators."""
    from bot import evaluation  # the evaluation issue belongs to evaluation

    if opportunity.state != State.OPEN.value or opportunity.deadline is None or opportunity.deadline > ctx.now:
        return
    live = store.live_count(ctx.session, opportunity.id)
    set_state(ctx, opportunity, State.EVALUATION, who="devex-bot", proposals=live)
    config = config_or_none(ctx)
    if live:
        evaluation.open_evaluation_issue(ctx, opportunity)
    else:
        opportunity.no_proposal_notice = True
        store.save(ctx.session, opportunity)
        post(ctx, opportunity, render("no_proposals", issuers=issuers_of(opportunity, config) if config else [opportunity.author], opportunity=opportunity))
    refresh_summary(ctx, opportunity)


def config_or_none(ctx: Context) -> Optional[RepoConfig]:
    try:
        return load_config(ctx)
    except ConfigError:
        return None


def cancel(ctx: Context, opportunity: Opportunity, reason: str, who: str) -> None:
    from bot import evaluation

    bidders = bidders_of(ctx.session, opportunity)
    set_state(ctx, opportunity, State.CANCELLED, who=who, reason=reason)
    evaluation.withdraw_pending_award(ctx, opportunity, "cancelled")
    evaluation.close_evaluation_issue(ctx, opportunity)
    post(ctx, opportunity, render("cancelled", reason=reason, who=who, bidders=bidders, opportunity=opportunity))
    refresh_summary(ctx, opportunity)


def label_removed(ctx: Context) -> None:
    issue = issue_of(ctx)
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, issue.get("number", -1), lock=True)
    if opportunity is None or State(opportunity.state) not in (State.NEEDS_CHANGES, State.OPEN, State.EVALUATION, State.REVIEW):
        return
    config = config_or_none(ctx)
    label = ((ctx.payload.get("label") or {}).get("name") or "").lower()
    if config is None or label != config.label.lower():
        return
    cancel(ctx, opportunity, "", actor(ctx))


def issue_closed(ctx: Context) -> None:
    issue = issue_of(ctx)
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, issue.get("number", -1), lock=True)
    if opportunity is None or State(opportunity.state) not in (State.NEEDS_CHANGES, State.OPEN, State.EVALUATION, State.REVIEW):
        return
    cancel(ctx, opportunity, "", actor(ctx))


# ---------------------------------------------------------------- the summary comment


def prepare_summary(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    """Renders the summary from the current state when the write is sent."""
    from bot.summary import summary_body

    opportunity = store.opportunity(session, body["opportunity_id"])
    if opportunity is None:
        return Prepared(skip=True)
    text = summary_body(session, opportunity, now)
    if opportunity.summary_comment_id:
        return Prepared("PATCH", f"/repos/{opportunity.repository}/issues/comments/{opportunity.summary_comment_id}", {"body": text})
    write.then = '{"op": "remember_summary", "opportunity_id": %d}' % opportunity.id
    return Prepared("POST", f"/repos/{opportunity.repository}/issues/{opportunity.issue_number}/comments", {"body": text})


def remember_summary(session: Session, then: dict, answer) -> None:
    opportunity = store.opportunity(session, then["opportunity_id"])
    if opportunity is not None and isinstance(answer.data, dict):
        opportunity.summary_comment_id = answer.data.get("id")
        store.save(session, opportunity)


def remember_problems(session: Session, then: dict, answer) -> None:
    opportunity = store.opportunity(session, then["opportunity_id"])
    if opportunity is not None and isinstance(answer.data, dict):
        opportunity.problems_comment_id = answer.data.get("id")
        store.save(session, opportunity)
