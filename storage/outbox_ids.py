"""The outbox's statements by write ids, compiled once per count of ids (storage.compiled):
the sender's reads of a batch's writes and its updates of them (storage.outbox)."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.compiled import DriverStatement, ObjectStatement, table_row
from storage.tables import GitHubWrite


@lru_cache(maxsize=None)
def _writes_by_id(count: int, lock: bool) -> ObjectStatement:
    """The writes of `count` ids (`id0`, `id1`...), read whole; with `lock`, locked while they
    are rendered and leased, so no worker folds a newer state into one meanwhile (and read
    after the lock: as they are now). Built once per count."""
    statement = table_row(GitHubWrite).where(GitHubWrite.id.in_([sa.bindparam(f"id{i}") for i in range(count)]))
    return ObjectStatement(GitHubWrite, statement.with_for_update(skip_locked=True) if lock else statement)


# Up to this many writes, read by a compiled statement and made objects one by one
# (storage.compiled.persistent); more, by the ORM, whose loading of many rows at once
# costs less a row (a batch of 20: 3 % fewer of the sender's instructions).
COMPILED_READ_MAX = 4
_WRITES_BY_ID = select(GitHubWrite).where(GitHubWrite.id.in_(sa.bindparam("ids", expanding=True)))


def read_writes(session: Session, ids: list[int], lock: bool, refresh: bool = False) -> list[GitHubWrite]:
    if not ids:
        return []
    if len(ids) > COMPILED_READ_MAX:
        query = _WRITES_BY_ID.with_for_update(skip_locked=True) if lock else _WRITES_BY_ID
        return list(session.exec(query.execution_options(populate_existing=refresh), params={"ids": ids}).all())
    count, params = by_ids(ids)
    return _writes_by_id(count, lock).objects(session, params, refresh=refresh)


@lru_cache(maxsize=None)
def update_by_ids(count: int, **values: str) -> DriverStatement:
    """An UPDATE of the writes of `count` ids (`id0`, `id1`...), setting each column named to
    the parameter named; built once per count (and columns)."""
    table = GitHubWrite.__table__
    return DriverStatement(
        sa.update(table)
        .where(table.c.id.in_([sa.bindparam(f"id{i}") for i in range(count)]))
        .values({column: (sa.null() if parameter is None else sa.bindparam(parameter)) for column, parameter in values.items()})
    )


def by_ids(ids: list[int]) -> tuple[int, dict[str, int]]:
    """Ids for `update_by_ids` and `read_writes`: their count rounded up to a power of two (the
    last id repeated: the same rows), so a process compiles a few statements, not one for
    every size of batch."""
    if not ids:
        raise ValueError("no ids: a statement by ids needs one at least")
    count = 1 << (len(ids) - 1).bit_length()
    padded = ids + [ids[-1]] * (count - len(ids))
    return count, {f"id{i}": write_id for i, write_id in enumerate(padded)}
