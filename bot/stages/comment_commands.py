"""Comment commands: parsed, dispatched to the rule that owns them, answered in one reply.

A comment may hold several commands; each gets a line in one reply that names
its author. Commands only count on an opportunity, its evaluation issue or its
award-review issue; elsewhere the bot stays quiet.
"""

from __future__ import annotations

from typing import Optional

from bot.github import requests as gw
from bot.procurement.commands import Command
from bot.procurement.config import ConfigError
from bot.pipeline.context import Context
from bot.messages import render
from bot.stages.effects import audit, load_config
from bot.stages.command_table import BY_NAME, EVALUATION, OPPORTUNITY, REVIEW, parse_commands
from bot.stages.outcomes import Outcome, refuse, refused
from bot.stages.people import people_of
from bot.stages.target import Target
from storage import procurement as store

def find_target(ctx: Context, number: int) -> Optional[tuple[str, object, object]]:
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, number, lock=True)
    if opportunity is not None:
        return "opportunity", opportunity, None
    # The review and evaluation issues have their own ordering keys: lock the
    # opportunity so their commands and the opportunity's own take turns.
    award = store.award_by_review_issue(ctx.session, ctx.repository, number)
    if award is not None:
        opportunity = store.opportunity(ctx.session, award.opportunity_id, lock=True)
        ctx.session.refresh(award)
        return "review", opportunity, award
    opportunity = store.opportunity_by_evaluation_issue(ctx.session, ctx.repository, number)
    if opportunity is not None:
        return "evaluation", store.opportunity(ctx.session, opportunity.id, lock=True), None
    return None


def wrong_place(cmd: Command, kind: str) -> Outcome:
    where = [k for k in (OPPORTUNITY, EVALUATION, REVIEW) if k in BY_NAME[cmd.name].issues]
    return refuse(cmd, "wrong_issue", here=kind, where=where)


def carry_out(ctx: Context, target: Target, cmd: Command, comment: dict, author: str) -> Outcome:
    """The table's check first (the same one /help shows), then the action."""
    spec = BY_NAME[cmd.name]
    if target.kind not in spec.issues:
        return wrong_place(cmd, target.kind)
    refusal = spec.may(ctx, target, author, True)
    if refusal is None:
        return spec.action(ctx, target, cmd, comment)
    outcome = refused(cmd, refusal)
    if spec.on_refusal is not None:
        spec.on_refusal(ctx, target, outcome, comment)
    return outcome


def comment_created(ctx: Context) -> None:
    comment = ctx.payload.get("comment") or {}
    issue = ctx.payload.get("issue") or {}
    commands = parse_commands(comment.get("body"))
    if not commands or not isinstance(issue.get("number"), int):
        return
    found = find_target(ctx, issue["number"])
    if found is None:
        return
    kind, opportunity, award = found
    author = (comment.get("user") or {}).get("login", "")
    try:
        config = load_config(ctx, opportunity.repository)
    except ConfigError as error:
        ctx.write(gw.comment(ctx.installation_id, ctx.repository, issue["number"], render("config_invalid", problems=error.problems, author=author, command=True)))
        return
    target = Target(kind, opportunity, config, people_of(ctx, opportunity.repository, config), award)
    target.people.note_association(author, comment.get("author_association"))
    outcomes = []
    for cmd in commands:
        outcome = carry_out(ctx, target, cmd, comment, author)
        if outcome.refused:
            audit(ctx, opportunity, "command_refused", url=comment.get("html_url"), who=author, command=cmd.name, reason=outcome.code)
        outcomes.append(outcome)
    sealed_bid = kind == "opportunity" and opportunity.bidding == "sealed" and any(c.name == "bid" for c in commands)
    if sealed_bid and comment.get("id"):
        # The proposal is recorded (or refused); it must not stay readable on the issue.
        ctx.write(gw.delete_comment(ctx.installation_id, ctx.repository, comment["id"]))
    ctx.write(gw.comment(ctx.installation_id, ctx.repository, issue["number"], render("reply", author=author, outcomes=outcomes, removed=sealed_bid)))
    for write in target.after_reply:
        ctx.write(write)  # e.g. closing the review issue once the decision is told there
