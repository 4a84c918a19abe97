"""Sealed bidding that does what it says (PRODUCT.md "Comment commands").

A comment that looks like a mistyped bid on a sealed opportunity is removed
(before any other write of the installation) and answered, without
repeating it; an edit of a recorded `/bid` comment changes nothing and is
answered: bid again.
"""

from __future__ import annotations

from bot.github import requests as gw
from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement.commands import looks_like_bid
from bot.procurement.lifecycle import State, accepts_bids
from bot.stages.effects import audit
from storage import procurement as store
from storage import sealed as sealed_store


def near_miss(ctx: Context, issue: dict, comment: dict) -> None:
    """A comment with no command: removed and answered when it looks like a bid on a sealed opportunity."""
    if not looks_like_bid(comment.get("body")) or not comment.get("id") or issue.get("pull_request"):
        return
    opportunity = store.opportunity_by_issue(ctx.session, ctx.repository, issue["number"], lock=True)
    if opportunity is None or opportunity.bidding != "sealed" or not accepts_bids(State(opportunity.state)):
        return
    author = (comment.get("user") or {}).get("login", "")
    ctx.write(gw.delete_sealed_bid(ctx.installation_id, ctx.repository, comment["id"]))
    ctx.write(gw.comment(ctx.installation_id, ctx.repository, issue["number"], render("near_miss_bid", author=author)))
    audit(ctx, opportunity, "bid_near_miss_removed", url=comment.get("html_url"), who=author)


def bid_edited(ctx: Context) -> None:
    """An edit of a comment whose `/bid` was recorded: the recorded version stands; say so."""
    comment = ctx.payload.get("comment") or {}
    if not isinstance(comment.get("id"), int):
        return
    found = sealed_store.version_of_comment(ctx.session, comment["id"])
    if found is None:
        return
    version, proposal = found
    opportunity = store.opportunity(ctx.session, proposal.opportunity_id, lock=True)
    if opportunity is None or opportunity.bidding != "sealed":
        return
    author = (comment.get("user") or {}).get("login", "")
    ctx.write(gw.comment(opportunity.installation_id, opportunity.repository, opportunity.issue_number, render("bid_edit_ignored", author=author, receipt=version.receipt_number)))
    audit(ctx, opportunity, "bid_edit_ignored", url=comment.get("html_url"), who=author, receipt=version.receipt_number)
