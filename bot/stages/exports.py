"""`devex-bot export`: what a contract officer files and what finance pays, as CSV or JSON.

Money is written as exact decimal text with two places (never a float), times
as ISO 8601 UTC.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Optional, TextIO

from sqlmodel import Session

from bot.stages.disclosure import COLUMNS as DISCLOSURE_COLUMNS
from bot.stages.disclosure import disclosure
from storage import finance as finance_store
from storage import acceptance as acceptances
from storage import procurement as store
from storage.tables import utcnow


def _tax_basis(include: bool) -> str:
    return "taxes included" if include else "plus applicable taxes"


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return "" if value is None else value


def _reference(commitments: dict, opportunity_id: int) -> Optional[str]:
    row = commitments.get(opportunity_id)
    return row.reference if row else None


def awards(session: Session) -> list[dict]:
    commitments = finance_store.commitments(session)
    approvals = finance_store.approval_details(session)
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
            "commitment_reference": _reference(commitments, o.id),
            "justification": a.decision_reason if a.status == "approved" else None,
            # The total of the awards to this contractor by this organization that /approve flagged.
            "splitting_total": (approvals.get(a.id, {}).get("splitting") or {}).get("total"),
            # Separation of duties: approved by the one who recommended it, and why.
            "self_approved": a.status == "approved" and bool(a.decided_by) and a.decided_by.lower() == a.recommended_by.lower(),
            "approval_justification": a.decision_reason if a.status == "approved" else None,
        }
        for a, o in store.all_awards(session)
    ]


def proposals(session: Session) -> list[dict]:
    commitments = finance_store.commitments(session)
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
                "commitment_reference": _reference(commitments, opportunity.id),
            }
        )
    return rows


def payments(session: Session, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    commitments = finance_store.commitments(session)
    certifications = finance_store.certifications(session)
    rows = []
    listed = store.all_payments(session)
    accepted = acceptances.accepted_for_payments(session, [payment.id for payment, _, _ in listed])
    for payment, opportunity, milestone in listed:
        certified = certifications.get(payment.id)
        by_officer = accepted.get(payment.id)
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
                # Not due before its work is certified (finance.certification_required).
                "due": None if payment.status == "awaiting-certification" else payment.due_at,
                "status": status,
                "certified_by": certified.certified_by if certified else None,
                "certified_at": certified.certified_at if certified else None,
                "paid_at": payment.paid_at,
                "paid_by": payment.paid_by,
                "reference": payment.reference,
                "commitment_reference": _reference(commitments, opportunity.id),
                # A merge that did not pass acceptance, accepted by a contract officer's `/accept REASON`.
                "accepted_by": by_officer.accepted_by if by_officer else None,
                "acceptance_reason": by_officer.reason if by_officer else None,
            }
        )
    return rows


EXPORTS: dict[str, Callable[[Session], list[dict]]] = {"awards": awards, "proposals": proposals, "payments": payments, "disclosure": disclosure}
#: The date each export's --year reads (disclosure reads its own: the year of entry).
YEAR_OF: dict[str, str] = {"awards": "recommended_at", "proposals": "submitted_at", "payments": "merged_at"}


def export(session: Session, what: str, year: Optional[int] = None) -> list[dict]:
    """The rows of one export, those of `year` only when given."""
    if what == "disclosure":
        return disclosure(session, year)
    rows = EXPORTS[what](session)
    if year is None:
        return rows
    return [row for row in rows if row[YEAR_OF[what]] is not None and row[YEAR_OF[what]].year == year]


COLUMNS: dict[str, list[str]] = {
    "awards": [
        "award_id", "opportunity_url", "title", "value", "tax_basis", "contractor", "amount", "status",
        "recommended_by", "recommended_at", "reason", "approved_by", "approved_at", "review_issue_url",
        "commitment_reference", "justification", "splitting_total", "self_approved", "approval_justification",
    ],
    "proposals": [
        "opportunity_url", "title", "bidder", "version", "status", "amount", "tax_basis", "submitted_at", "receipt", "sha256",
        "commitment_reference",
    ],
    "payments": [
        "payment_id", "opportunity_url", "contractor", "milestone", "amount", "tax_basis", "pull_request_url",
        "merged_at", "merged_by", "due", "status", "paid_at", "reference",
        "certified_by", "certified_at", "paid_by", "commitment_reference", "accepted_by", "acceptance_reason",
    ],
    "disclosure": DISCLOSURE_COLUMNS,
}

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Text users wrote (a title, a reason) must not run as a formula when finance opens the file."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return _cell(value)


def write(rows: Iterable[dict], fmt: str, out: TextIO, columns: Optional[list[str]] = None) -> None:
    rows = list(rows)
    if fmt == "json":
        json.dump([{k: _cell(v) for k, v in row.items()} for row in rows], out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    fieldnames = columns or (list(rows[0]) if rows else [])
    if not fieldnames:
        return
    writer = csv.DictWriter(out, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
