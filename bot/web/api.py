"""The board as JSON: `GET /api/opportunities` and `/api/opportunities/OWNER/REPO/NUMBER`.

Amounts are strings with two places ("9500.00", CAD), times ISO 8601 in UTC
("2026-11-20T19:00:00Z"). The same public fields as the pages, nothing more.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Optional

from bot.procurement.money import CENT
from bot.web.render import iso, skill_list
from storage.board import Listing, MilestoneRecord, Record


def amount(value: Optional[Decimal]) -> Optional[str]:
    return None if value is None else str(Decimal(value).quantize(CENT))


def time(value) -> Optional[str]:
    return iso(value) or None


def listing(o: Listing, links: dict) -> dict:
    return {
        "repository": o.repository,
        "organization": o.owner,
        "number": o.number,
        "title": o.title,
        "state": o.state,
        "value": amount(o.value),
        "currency": "CAD",
        "amounts_include_tax": o.amounts_include_tax,
        "deadline": time(o.deadline),
        "timezone": o.timezone,
        "skills": skill_list(o.skills),
        "bidding": o.bidding,
        "proposals": o.proposals,
        "opened_at": time(o.opened_at),
        "updated_at": time(o.updated_at),
        "issue_url": o.html_url,
        "contractor": o.contractor,
        "contract_value": amount(o.contract_value),
        "links": links,
    }


def milestone(m: MilestoneRecord) -> dict:
    return {
        "position": m.position,
        "name": m.name,
        "amount": amount(m.amount),
        "contract_amount": amount(m.contract_amount),
        "status": m.status,
        "payment": None
        if m.payment_status is None
        else {
            "status": m.payment_status,
            "amount": amount(m.paid_amount),
            "accepted_at": time(m.merged_at),
            "paid_at": time(m.paid_at),
            "pull_request_url": m.pull_request_url,
        },
    }


def record(r: Record, links: dict) -> dict:
    body = listing(r.listing, links)
    body.update(
        problem=r.problem,
        acceptance_criteria=r.acceptance_criteria,
        evaluation_criteria=r.evaluation_criteria,
        milestones=[milestone(m) for m in r.milestones],
        awarded_at=time(r.awarded_at),
        paid=amount(sum((m.paid_amount for m in r.milestones if m.payment_status == "paid"), Decimal("0"))) if r.listing.contractor else None,
    )
    return body


def dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"
