"""The cached text of each repository's `.github/devex.yml` (shared by all processes)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Session, delete

from storage.db import hold
from storage.tables import RepoConfigCache


def cached(session: Session, repository: str) -> Optional[RepoConfigCache]:
    # Held for the session: the worker's next delivery of the batch, on the same
    # repository, finds it in the identity map instead of reading it again.
    return hold(session, session.get(RepoConfigCache, repository))


def remember(session: Session, repository: str, text: Optional[str], now: datetime) -> None:
    row = session.get(RepoConfigCache, repository) or RepoConfigCache(repository=repository)
    row.text = text
    row.fetched_at = now
    session.add(hold(session, row))


def forget(session: Session, repository: str) -> None:
    row = session.get(RepoConfigCache, repository)
    if row is not None:
        session.expunge(row)  # not found again in the identity map once deleted
    session.exec(delete(RepoConfigCache).where(RepoConfigCache.repository == repository))
