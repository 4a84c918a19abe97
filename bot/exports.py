"""`devex-bot export`: what a contract officer files and what finance pays, as CSV or JSON.

Money is written as exact decimal text with two places (never a float), times
as ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, TextIO

from sqlmodel import Session

from storage import procurement as store


def _tax_basis(include: bool) -> str:
    return "taxes included" if include else "plus applicable taxes"


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return "" if value is None else value


def awards(session: Session) -> list[dict]:
    return [
        {
            "award_id": a.id,
            "opportunity_url": o.html_url,
            "title": o.title,
            "value": o.value,
            "tax_basis": _tax_basis(o.amounts_include_tax),
            "contractor": a.contractor,
            "amount": a.amount,
            "status": a.status,
            "recommended_by": a.recommended_by,
            "recommended_at": a.recommended_at,
            "reason": a.reason,
            "approved_by": a.decided_by if a.status == "approved" else None,
            "approved_at": a.decided_at if a.status == "approved" else None,
            "review_issue_url": a.review_issue_url,
        }
        for a, o in store.all_awards(session)
    ]


def proposals(session: Session) -> list[dict]:
    rows = []
    for version, proposal, opportunity in store.all_versions(session):
        current = version.version == proposal.current_version
        rows.append(
            {
                "opportunity_url": opportunity.html_url,
                "title": opportunity.title,
                "bidder": proposal.bidder,
                "version": version.version,
                "status": (proposal.status if current else "superseded"),
                "amount": version.amount,
                "tax_basis": _tax_basis(opportunity.amounts_include_tax),
                "submitted_at": version.submitted_at,
                "receipt": version.receipt_number,
                "sha256": version.sha256,
            }
        )
    return rows


def payments(session: Session, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    rows = []
    for payment, opportunity, milestone in store.all_payments(session):
        status = "overdue" if payment.status == "payable" and payment.due_at < now else payment.status
        rows.append(
            {
                "payment_id": payment.id,
                "opportunity_url": opportunity.html_url,
                "contractor": payment.contractor,
                "milestone": milestone.name,
                "amount": payment.amount,
                "tax_basis": _tax_basis(opportunity.amounts_include_tax),
                "pull_request_url": payment.pull_request_url,
                "merged_at": payment.merged_at,
                "merged_by": payment.merged_by,
                "due": payment.due_at,
                "status": status,
                "paid_at": payment.paid_at,
                "reference": payment.reference,
            }
        )
    return rows


EXPORTS: dict[str, Callable[[Session], list[dict]]] = {"awards": awards, "proposals": proposals, "payments": payments}


def write(rows: Iterable[dict], fmt: str, out: TextIO) -> None:
    rows = [{k: _cell(v) for k, v in row.items()} for row in rows]
    if fmt == "json":
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
