"""The effects every stage of a procurement shares: the audit trail, comments on
the opportunity, its state label, its summary, and its configuration.

A stage decides; these record the decision (rows in the same transaction) and
queue what GitHub must show (writes in the outbox). Nothing here decides.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from bot import alerts
from bot.github import requests as gw
from bot.github.requests import FollowUp, Prepared, Rendered
from bot.pipeline.context import Context
from bot.procurement.config import ConfigError, RepoConfig
from bot.procurement.lifecycle import State
from bot.stages.summary import summary_body
from storage import procurement as store
from storage.tables import GitHubWrite, Opportunity

log = logging.getLogger(__name__)


def load_config(ctx: Context, repository: Optional[str] = None) -> RepoConfig:
    return ctx.configs.load(ctx.session, ctx.github, repository or ctx.repository)


def issue_of(ctx: Context) -> dict:
    return ctx.payload.get("issue") or {}


def actor(ctx: Context) -> str:
    return ctx.sender.get("login", "")


def audit(ctx: Context, opportunity: Optional[Opportunity], kind: str, url: Optional[str] = None, who: Optional[str] = None, **detail: Any) -> None:
    store.record(ctx.session, **_audit_fields(ctx, opportunity, kind, url, who, **detail))


def audit_event(ctx: Context, opportunity: Optional[Opportunity], kind: str, url: Optional[str] = None, who: Optional[str] = None, **detail: Any) -> dict:
    """The audit event `audit` would record, as a row to store with other writes
    (`store.record_version`)."""
    return store.event(**_audit_fields(ctx, opportunity, kind, url, who, **detail))


def _audit_fields(ctx: Context, opportunity: Optional[Opportunity], kind: str, url: Optional[str], who: Optional[str], **detail: Any) -> dict:
    return {
        "kind": kind,
        "actor": who or actor(ctx) or "devex-bot",
        "opportunity_id": opportunity.id if opportunity else None,
        "at": ctx.now,
        "delivery_id": ctx.delivery_id,
        "url": url,
        **detail,
    }


def post(ctx: Context, opportunity: Opportunity, body: str, then: Optional[dict] = None) -> None:
    ctx.write(gw.comment(opportunity.installation_id, opportunity.repository, opportunity.issue_number, body, then))


def refresh_summary(ctx: Context, opportunity: Opportunity) -> None:
    ctx.write(summary_write(opportunity, desk_base=ctx.settings.desk_base))


def summary_write(opportunity: Opportunity, desk_base: Optional[str] = None):
    """The summary edit, rendered when sent: pending ones coalesce (many bids, one edit).
    `desk_base`: the board's address when the desk is on (the summary links to it)."""
    return prepare_summary.write(opportunity.installation_id, str(opportunity.id), opportunity_id=opportunity.id, desk_base=desk_base)


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
    if new == State.OPEN:  # opened, or reopened by /extend: email alerts owed, in this transaction
        alerts.opportunity_opened(ctx.session, opportunity, ctx.now, private=(ctx.payload.get("repository") or {}).get("private"))


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


def config_or_none(ctx: Context) -> Optional[RepoConfig]:
    try:
        return load_config(ctx)
    except ConfigError:
        return None


# ---------------------------------------------------------------- the summary comment


@Rendered.kind("summary")
def prepare_summary(session: Session, write: GitHubWrite, body: dict, now: datetime) -> Prepared:
    """Renders the summary from the current state when the write is sent."""
    opportunity = store.opportunity(session, body["opportunity_id"])
    if opportunity is None:
        return Prepared(skip=True)
    try:
        text = summary_body(session, opportunity, now, desk_base=body.get("desk_base"))
    except ConfigError:
        # Never rendered from defaults in the file's place: the summary waits for
        # the file to be fixed (the next event refreshes it; the issue was told).
        log.warning("summary of opportunity %s not refreshed: .github/devex.yml of %s is invalid", opportunity.id, opportunity.repository)
        return Prepared(skip=True)
    if opportunity.summary_comment_id:
        return Prepared("PATCH", f"/repos/{opportunity.repository}/issues/comments/{opportunity.summary_comment_id}", {"body": text})
    write.then = json.dumps(remember_summary.then(opportunity_id=opportunity.id))
    return Prepared("POST", f"/repos/{opportunity.repository}/issues/{opportunity.issue_number}/comments", {"body": text})


@FollowUp.step("remember_summary")
def remember_summary(session: Session, then: dict, answer) -> None:
    opportunity = store.opportunity(session, then["opportunity_id"])
    if opportunity is not None and isinstance(answer.data, dict):
        opportunity.summary_comment_id = answer.data.get("id")
        store.save(session, opportunity)


@FollowUp.step("remember_problems")
def remember_problems(session: Session, then: dict, answer) -> None:
    opportunity = store.opportunity(session, then["opportunity_id"])
    if opportunity is not None and isinstance(answer.data, dict):
        opportunity.problems_comment_id = answer.data.get("id")
        store.save(session, opportunity)
