"""Forms sent from the bidder's desk, applied by the worker in the issue's order.

The web process stored the form as an internal delivery (`devex.desk`) with the
opportunity issue's ordering key; here it meets the same checks and the same
recording code as the comment commands (`bot.stages.bidding`): `may_register`,
`may_bid` and `amount_refusal`, `may_withdraw`, then `record_*`. A desk bid's
receipt is posted on the issue without the bidder's name, amount or text; the
outcome (receipt or refusal) is kept for the desk to show its sender only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from bot.messages import render
from bot.pipeline.context import Context
from bot.procurement.config import ConfigError
from bot.stages import bidding
from bot.stages.effects import audit, load_config, post
from bot.stages.people import people_of
from bot.stages.target import Target
from storage import desk as store
from storage import procurement

UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def _shown(params: dict[str, Any]) -> dict[str, Any]:
    """Values as the desk shows them: times in UTC, amounts as exact strings."""
    out = {}
    for key, value in params.items():
        if isinstance(value, datetime):
            out[key] = value.strftime(UTC_FORMAT)
        elif isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, (str, int, float, bool)) or value is None:
            out[key] = value
    return out


def apply(ctx: Context) -> None:
    payload = ctx.payload
    row = store.request_by_key(ctx.session, str(payload.get("request")), lock=True)
    if row is None or row.status != "pending":
        return  # applied already (a redelivery), or never stored
    outcome = _apply(ctx, row, payload)
    code, refused, params = outcome
    store.finish(ctx.session, row, code, refused, _shown(params), ctx.now)


def _apply(ctx: Context, row, payload: dict) -> tuple[str, bool, dict]:
    opportunity = procurement.opportunity(ctx.session, row.opportunity_id, lock=True) if row.opportunity_id else None
    if opportunity is None:
        return "no_such_opportunity", True, {"opportunity": ""}
    try:
        config = load_config(ctx, opportunity.repository)
    except ConfigError:
        return "config_invalid", True, {}
    target = Target("opportunity", opportunity, config, people_of(ctx, opportunity.repository, config))
    login = row.login
    if row.kind == "register":
        refusal = bidding.may_register(ctx, target, login, True)
        if refusal is not None:
            return refusal.code, True, dict(refusal.params)
        kind, params = bidding.record_registration(ctx, target, login, row.user_id, None)
        return kind, False, {"version": params["terms_version"], "terms_url": params["terms_url"]}
    if row.kind == "bid":
        return _bid(ctx, target, login, payload)
    if row.kind == "withdraw":
        refusal = bidding.may_withdraw(ctx, target, login, True)
        if refusal is not None:
            return refusal.code, True, dict(refusal.params)
        receipt = bidding.record_withdrawal(ctx, target, login, None)
        post(ctx, opportunity, render("desk_withdrawn", receipt=receipt))
        return "withdrawn", False, {"receipt": receipt}
    return "no_such_opportunity", True, {"opportunity": ""}


def _bid(ctx: Context, target: Target, login: str, payload: dict) -> tuple[str, bool, dict]:
    opportunity = target.opportunity
    refusal = bidding.may_bid(ctx, target, login, True)
    found: Optional[tuple[str, dict]] = (refusal.code, dict(refusal.params)) if refusal is not None else None
    amount = Decimal(str(payload.get("amount")))
    found = found or bidding.amount_refusal(opportunity, amount)
    if found is not None:
        audit(ctx, opportunity, "bid_refused", who=login, reason=found[0], source="desk")
        return found[0], True, found[1]
    recorded = bidding.record_bid(ctx, target, login, amount, str(payload.get("proposal") or ""), ctx.written_at)
    post(
        ctx,
        opportunity,
        render(
            "desk_receipt",
            receipt=recorded.receipt,
            at=recorded.at,
            sha256=recorded.sha256,
            replaced=recorded.replaced,
            deadline=opportunity.deadline,
            timezone=opportunity.timezone,
        ),
    )
    return "bid_receipt", False, {"receipt": recorded.receipt, "at": recorded.at, "sha256": recorded.sha256, "version": recorded.version}
