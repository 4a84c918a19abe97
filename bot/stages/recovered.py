"""A delivery GitHub failed to send on time arrived because recovery asked for it:
the audit trail of the opportunity it touches says so (PRODUCT.md "Missed deliveries")."""

from __future__ import annotations

from typing import Optional

from bot.pipeline.context import Context
from bot.stages.effects import audit
from storage import procurement as store
from storage.tables import Opportunity


def _touched(ctx: Context) -> Optional[Opportunity]:
    """The opportunity of the issue or pull request the delivery is about, if any."""
    payload = ctx.payload
    item = payload.get("issue") if isinstance(payload.get("issue"), dict) else payload.get("pull_request")
    number = item.get("number") if isinstance(item, dict) else None
    if not isinstance(number, int) or not ctx.repository:
        return None
    found = store.opportunity_by_issue(ctx.session, ctx.repository, number)
    if found is not None:
        return found
    link = store.pull_request_link(ctx.session, ctx.repository, number)
    if link is not None and link.opportunity_id is not None:
        return store.opportunity(ctx.session, link.opportunity_id)
    award = store.award_by_review_issue(ctx.session, ctx.repository, number)
    if award is not None:
        return store.opportunity(ctx.session, award.opportunity_id)
    return store.opportunity_by_evaluation_issue(ctx.session, ctx.repository, number)


def audit_recovered(ctx: Context) -> None:
    audit(ctx, _touched(ctx), "delivery_recovered", who="devex-bot", event=ctx.event, action=ctx.action, received_at=ctx.received_at.isoformat())
