"""Reads for sealed bidding: the proposal version a `/bid` comment recorded."""

from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from storage.tables import Proposal, ProposalVersion


def version_of_comment(session: Session, comment_id: int) -> Optional[tuple[ProposalVersion, Proposal]]:
    row = session.exec(
        select(ProposalVersion, Proposal).join(Proposal, Proposal.id == ProposalVersion.proposal_id).where(ProposalVersion.comment_id == comment_id)
    ).first()
    return tuple(row) if row is not None else None
