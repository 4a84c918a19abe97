"""Opportunities belong to repositories, not to installations: a reinstall (a new
installation id) moves them, and their pending writes, to the installation
that now holds their repository."""

from __future__ import annotations

from typing import Iterable, Optional

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.outbox import ensure_installation
from storage.tables import GitHubWrite, Installation, InstallationRepository, Opportunity


def move_to_installation(session: Session, repositories: Iterable[str], installation_id: int) -> list[int]:
    """Every opportunity of these repositories now goes through `installation_id`,
    and so do the writes still pending for them under another, inactive installation.
    Returns the ids of the opportunities moved."""
    names = sorted({r for r in repositories if r})
    if not names:
        return []
    moved = session.exec(
        select(Opportunity).where(Opportunity.repository.in_(names), Opportunity.installation_id != installation_id).with_for_update()
    ).all()
    if not moved:
        return []
    old = {o.installation_id for o in moved}
    for opportunity in moved:
        opportunity.installation_id = installation_id
        session.add(opportunity)
    ensure_installation(session, installation_id)
    inactive = session.exec(select(Installation.id).where(Installation.id.in_(old), Installation.status != "active")).all()
    if inactive:
        paths = [GitHubWrite.path.like(f"/repos/{name}/%") for name in names]
        session.exec(
            sa.update(GitHubWrite)
            .where(GitHubWrite.installation_id.in_(inactive), GitHubWrite.status == "pending", sa.or_(GitHubWrite.path.is_(None), *paths))
            .values(installation_id=installation_id)
        )
    session.flush()
    return [o.id for o in moved]


def installation_holding(session: Session, repository: str) -> Optional[int]:
    """The active installation that holds this repository, as installation events told."""
    return session.exec(
        select(InstallationRepository.installation_id)
        .join(Installation, Installation.id == InstallationRepository.installation_id)
        .where(InstallationRepository.full_name == repository, Installation.status == "active")
    ).first()


def drop_writes_to_issue(session: Session, repository: str, number: int, now) -> int:
    """A deleted issue takes no more writes: those pending for it are refused, kept for the record."""
    result = session.exec(
        sa.update(GitHubWrite)
        .where(
            GitHubWrite.status == "pending",
            sa.or_(GitHubWrite.path == f"/repos/{repository}/issues/{number}", GitHubWrite.path.like(f"/repos/{repository}/issues/{number}/%")),
        )
        .values(status="refused", last_error="the issue was deleted", sent_at=now)
    )
    return result.rowcount or 0
