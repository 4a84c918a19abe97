"""Only issuers end a procurement (PRODUCT.md "Lifecycle").

A close of the opportunity's issue by anyone else, or by a merged pull
request's closing keyword, is undone (the bot reopens the issue) and said; a
removal of the opportunity label by a non-issuer is undone (the label is put
back) and said; by an issuer, either cancels as `/cancel` does. A deleted
issue cancels and nothing of it is published later; a transferred one is
followed to its new repository when the app is installed there. And an
opportunity belongs to its repository: a reinstall moves it to the new
installation.
"""

from __future__ import annotations

from typing import Iterable, Optional

from bot.github import requests as gw
from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement.config import RepoConfig
from bot.procurement.lifecycle import BEFORE_AWARD, State
from bot.stages import evaluation
from bot.stages.effects import actor, audit, config_or_none, issue_of, post
from bot.stages.opportunities import cancel
from bot.stages.people import People
from storage import ownership
from storage import procurement as store
from storage.tables import Opportunity


def _before_award(ctx: Context) -> Optional[Opportunity]:
    number = issue_of(ctx).get("number")
    if not isinstance(number, int) or issue_of(ctx).get("pull_request"):
        return None
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, number, lock=True)
    if opportunity is None or not opportunity.state or State(opportunity.state) not in BEFORE_AWARD:
        return None
    return opportunity


def _is_issuer(ctx: Context, config: Optional[RepoConfig], login: str) -> bool:
    # An invalid configuration lists no one: write access still makes an issuer.
    return People(ctx.github, ctx.repository, config or RepoConfig()).is_issuer(login)


def issue_closed(ctx: Context) -> None:
    opportunity = _before_award(ctx)
    if opportunity is None:
        return
    who = actor(ctx)
    by_keyword = ctx.github is not None and ctx.github.closed_by_commit(ctx.repository, opportunity.issue_number)
    if not by_keyword and _is_issuer(ctx, config_or_none(ctx), who):
        cancel(ctx, opportunity, "", who)
        return
    ctx.write(gw.set_issue_state(opportunity.installation_id, opportunity.repository, opportunity.issue_number, "open"))
    post(ctx, opportunity, render("close_undone", who=who, by_keyword=by_keyword))
    audit(ctx, opportunity, "close_undone", by_keyword=by_keyword)


def label_removed(ctx: Context) -> None:
    opportunity = _before_award(ctx)
    if opportunity is None:
        return
    config = config_or_none(ctx)
    label = ((ctx.payload.get("label") or {}).get("name") or "").lower()
    wanted = (config or RepoConfig()).label
    if label != wanted.lower():
        return
    who = actor(ctx)
    if _is_issuer(ctx, config, who):
        cancel(ctx, opportunity, "", who)
        return
    ctx.write(gw.add_labels(opportunity.installation_id, opportunity.repository, opportunity.issue_number, [wanted]))
    post(ctx, opportunity, render("label_restored", who=who, label=wanted))
    audit(ctx, opportunity, "label_restored", label=wanted)


def issue_deleted(ctx: Context) -> None:
    """Cancelled, with no write to the issue (it is gone); the evaluation issue is
    not opened later (bidding never closes on a cancelled opportunity), and any
    pending award is withdrawn."""
    opportunity = _before_award(ctx)
    if opportunity is None:
        return
    old = opportunity.state
    opportunity.state = State.CANCELLED.value
    opportunity.updated_at = ctx.now
    store.save(ctx.session, opportunity)
    dropped = ownership.drop_writes_to_issue(ctx.session, opportunity.repository, opportunity.issue_number, ctx.now)
    audit(ctx, opportunity, "state_changed", **{"from": old, "to": State.CANCELLED.value}, reason="issue deleted", writes_dropped=dropped)
    evaluation.withdraw_pending_award(ctx, opportunity, "cancelled")
    evaluation.close_evaluation_issue(ctx, opportunity)


def issue_transferred(ctx: Context) -> None:
    """The opportunity follows its issue to a repository where the app is installed; else it is cancelled."""
    changes = ctx.payload.get("changes") or {}
    new_repository = (changes.get("new_repository") or {}).get("full_name")
    new_issue = changes.get("new_issue") or {}
    old = issue_of(ctx).get("number")
    if not new_repository or not isinstance(new_issue.get("number"), int) or not isinstance(old, int):
        return
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, old, lock=True)
    if opportunity is None:
        return
    installation = ownership.installation_holding(ctx.session, new_repository)
    if installation is None and ctx.github is not None and ctx.github.repository_private(new_repository) is not None:
        installation = ctx.installation_id  # this installation can read it: it holds it
    if installation is None:
        if State(opportunity.state) in BEFORE_AWARD:
            issue_deleted(ctx)
        audit(ctx, opportunity, "issue_transferred", to=new_repository, followed=False)
        return
    _follow(ctx, opportunity, new_repository, new_issue, installation)


def issue_opened_by_transfer(ctx: Context) -> bool:
    """`issues.opened` of a transferred issue, delivered to its new repository: the
    opportunity follows it (when `transferred` has not moved it yet). True when the
    issue was an opportunity."""
    changes = ctx.payload.get("changes") or {}
    old_repository = (changes.get("old_repository") or {}).get("full_name")
    old_issue = (changes.get("old_issue") or {}).get("number")
    if not old_repository or not isinstance(old_issue, int):
        return False
    opportunity = store.opportunity_by_issue(ctx.session, old_repository, old_issue, lock=True)
    if opportunity is None:
        return store.opportunity_by_issue(ctx.session, ctx.repository, issue_of(ctx).get("number", -1)) is not None
    _follow(ctx, opportunity, ctx.repository, issue_of(ctx), ctx.installation_id)
    return True


def _follow(ctx: Context, opportunity: Opportunity, repository: str, issue: dict, installation_id: int) -> None:
    old = f"{opportunity.repository}#{opportunity.issue_number}"
    if opportunity.review_repository == opportunity.repository:
        opportunity.review_repository = repository
    opportunity.repository = repository
    opportunity.issue_number = issue["number"]
    opportunity.html_url = issue.get("html_url") or opportunity.html_url
    opportunity.installation_id = installation_id
    opportunity.updated_at = ctx.now
    store.save(ctx.session, opportunity)
    audit(ctx, opportunity, "issue_transferred", to=f"{repository}#{issue['number']}", followed=True, **{"from": old})
    post(ctx, opportunity, render("transferred", old=old, proposals=store.live_count(ctx.session, opportunity.id)))


def installation_holds(ctx: Context, repositories: Iterable[dict]) -> None:
    """An installation (a new one after a reinstall) holds these repositories now:
    their opportunities and pending writes go through it."""
    moved = ownership.move_to_installation(ctx.session, [r.get("full_name") for r in repositories if isinstance(r, dict)], ctx.installation_id)
    if moved:
        ctx.log.info("installation %s now holds opportunities %s", ctx.installation_id, moved)
