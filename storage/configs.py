"""The cached text of each repository's `.github/devex.yml` (shared by all processes)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Session, delete

from storage.tables import RepoConfigCache


def cached(session: Session, repository: str) -> Optional[RepoConfigCache]:
    return session.get(RepoConfigCache, repository)


def remember(session: Session, repository: str, text: Optional[str], now: datetime) -> None:
    row = session.get(RepoConfigCache, repository) or RepoConfigCache(repository=repository)
    row.text = text
    row.fetched_at = now
    session.add(row)


def forget(session: Session, repository: str) -> None:
    session.exec(delete(RepoConfigCache).where(RepoConfigCache.repository == repository))
