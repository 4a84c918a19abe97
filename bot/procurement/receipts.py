"""Receipts for sealed proposals: a number and the SHA-256 of what was recorded.

The hash covers the proposal as recorded: `amount: <amount>` then a blank line
then the text, UTF-8. The evaluation issue shows exactly these, so a bidder
(or anyone) recomputes the hash from what the evaluators read.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal


def canonical(amount: Decimal, text: str) -> str:
    return f"amount: {amount.quantize(Decimal('0.01'))}\n\n{text}"


def proposal_sha256(amount: Decimal, text: str) -> str:
    return hashlib.sha256(canonical(amount, text).encode("utf-8")).hexdigest()


def receipt_number(repository: str, issue_number: int, proposal_id: int, version: int) -> str:
    """Short, unique and readable: R-<issue>-<proposal>-<version>, plus a check of the repository."""
    check = hashlib.sha256(f"{repository}#{issue_number}:{proposal_id}:{version}".encode()).hexdigest()[:4].upper()
    return f"R-{issue_number}-{proposal_id}.{version}-{check}"
