"""An issue becomes an opportunity, is validated, opens, closes at its deadline, or is cancelled.

The rules (the form, the lifecycle) are in `bot.procurement`; this module turns
an event into a call of them, and their decision into stored rows and queued
GitHub writes.
"""

from __future__ import annotations



from bot.github import requests as gw
from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement.config import ConfigError, RepoConfig
from bot.procurement.form import OpportunityForm, parse_opportunity_form
from bot.procurement.lifecycle import BEFORE_AWARD, VALIDATED, State, can_edit_terms, opens_to
from bot.stages import evaluation, finance
from bot.stages.effects import (
    actor,
    audit,
    bidders_of,
    config_or_none,
    issue_of,
    issuers_of,
    load_config,
    post,
    refresh_summary,
    remember_problems,
    review_repository_private,
    set_state,
)
from bot.stages.people import people_of
from storage import procurement as store
from storage.tables import Opportunity

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
        post(ctx, opportunity, body, then=remember_problems.then(opportunity_id=opportunity.id))


def validate(ctx: Context, *, labelled: bool, quiet: bool = False) -> None:
    """Labelled, opened with the label, or edited: read the body and act on it.
    `quiet`: a refusal is not told (GitHub sends `labeled` too, which tells it)."""
    issue = issue_of(ctx)
    number = issue.get("number")
    if not isinstance(number, int) or issue.get("pull_request"):
        return
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, number, lock=True)
    if opportunity is not None and State(opportunity.state) not in VALIDATED:
        return
    if opportunity is None and not labelled:
        return
    if opportunity is not None and labelled and opportunity.state in (State.OPEN.value, State.NEEDS_COMMITMENT.value):
        # `opened` with the label and `labeled` both arrive for a form issue: one opening.
        return
    try:
        config = load_config(ctx)
    except ConfigError as error:
        ctx.write(gw.comment(ctx.installation_id, ctx.repository, number, render("config_invalid", problems=error.problems, author=actor(ctx))))
        audit(ctx, opportunity, "config_invalid", problems=error.problems)
        return
    if opportunity is None and not people_of(ctx, ctx.repository, config).is_issuer(actor(ctx)):
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
    # Once open, an edit never sends it back to wait for funds (bidders may be at work).
    new = State.OPEN if was_open else opens_to(config.finance.commitment_required, finance.covered(ctx, opportunity))
    set_state(ctx, opportunity, new, value=str(form.value), deadline=form.deadline.isoformat())
    if was_open:
        audit(ctx, opportunity, "opportunity_edited", value=str(form.value), deadline=form.deadline.isoformat())
    refresh_summary(ctx, opportunity)


# ---------------------------------------------------------------- closing and cancelling


def deadline_passed(ctx: Context, opportunity_id: int) -> None:
    """The scheduler's internal delivery: the deadline of this opportunity passed."""
    opportunity = store.opportunity(ctx.session, opportunity_id)
    if opportunity is not None:
        close_bidding(ctx, opportunity)


def close_bidding(ctx: Context, opportunity: Opportunity) -> None:
    """The deadline passed: evaluation, with the proposals published to the evaluators."""
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


def cancel(ctx: Context, opportunity: Opportunity, reason: str, who: str) -> None:
    bidders = bidders_of(ctx.session, opportunity)
    set_state(ctx, opportunity, State.CANCELLED, who=who, reason=reason)
    evaluation.withdraw_pending_award(ctx, opportunity, "cancelled")
    evaluation.close_evaluation_issue(ctx, opportunity)
    post(ctx, opportunity, render("cancelled", reason=reason, who=who, bidders=bidders, opportunity=opportunity))
    refresh_summary(ctx, opportunity)


def label_removed(ctx: Context) -> None:
    issue = issue_of(ctx)
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, issue.get("number", -1), lock=True)
    if opportunity is None or State(opportunity.state) not in BEFORE_AWARD:
        return
    config = config_or_none(ctx)
    label = ((ctx.payload.get("label") or {}).get("name") or "").lower()
    if config is None or label != config.label.lower():
        return
    cancel(ctx, opportunity, "", actor(ctx))


def issue_closed(ctx: Context) -> None:
    issue = issue_of(ctx)
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, issue.get("number", -1), lock=True)
    if opportunity is None or State(opportunity.state) not in BEFORE_AWARD:
        return
    cancel(ctx, opportunity, "", actor(ctx))


