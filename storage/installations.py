"""Installations and their repositories, kept current by `installation` events."""

from __future__ import annotations

from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, delete, select

from storage.compiled import ObjectStatement, table_row
from storage.db import hold
from storage.tables import Installation, InstallationRepository, utcnow


def insert_installation(session: Session, installation_id: int, account: str = "") -> Installation:
    """Adds the row; another worker adding it at the same moment is no error (it waits on
    the unique key, then fails; the row it then reads is the other worker's)."""
    try:
        with session.begin_nested():
            installation = Installation(id=installation_id, account=account or str(installation_id))
            session.add(installation)
            session.flush()
        return installation
    except IntegrityError:
        return session.get(Installation, installation_id)


# Every delivery's installation: the first of a worker's batch reads it by a compiled
# statement, its row made the session's object as `session.get` would load it.
_INSTALLATION = ObjectStatement(Installation, table_row(Installation).where(Installation.__table__.c.id == sa.bindparam("row")))


def _installation(session: Session, installation_id: int) -> Optional[Installation]:
    if session.identity_map.get(identity_key(Installation, installation_id)) is not None:
        return session.get(Installation, installation_id)  # held by the batch: no statement
    found = _INSTALLATION.objects(session, {"row": installation_id})  # as session.get, which flushes first too
    return found[0] if found else None


def touch_installation(session: Session, installation_id: int, account: str = "") -> Installation:
    installation = _installation(session, installation_id)
    if installation is None:
        installation = insert_installation(session, installation_id, account)
    elif account and installation.account != account:
        installation.account = account
        session.add(installation)
    return hold(session, installation)  # read once for the worker's batch (storage.db.hold)


def installation_active(session: Session, installation_id: int) -> bool:
    installation = session.get(Installation, installation_id)
    return installation is None or installation.status == "active"


def set_status(session: Session, installation_id: int, status: str, account: str = "") -> None:
    installation = touch_installation(session, installation_id, account)
    installation.status = status
    installation.updated_at = utcnow()
    session.add(installation)


def add_repositories(session: Session, installation_id: int, repositories: Iterable[dict]) -> None:
    for repo in repositories:
        full_name = repo.get("full_name")
        if not full_name:
            continue
        row = session.get(InstallationRepository, (installation_id, full_name))
        if row is None:
            row = InstallationRepository(installation_id=installation_id, full_name=full_name)
        row.private = repo.get("private")
        session.add(row)


def remove_repositories(session: Session, installation_id: int, repositories: Iterable[dict]) -> None:
    names = [r.get("full_name") for r in repositories if r.get("full_name")]
    if names:
        session.exec(
            delete(InstallationRepository).where(
                InstallationRepository.installation_id == installation_id,
                InstallationRepository.full_name.in_(names),
            )
        )


def repositories(session: Session, installation_id: int) -> list[str]:
    rows = session.exec(
        select(InstallationRepository.full_name).where(InstallationRepository.installation_id == installation_id)
    ).all()
    return sorted(rows)


def repository_private(session: Session, full_name: str) -> Optional[bool]:
    row = session.exec(select(InstallationRepository.private).where(InstallationRepository.full_name == full_name)).first()
    return row
