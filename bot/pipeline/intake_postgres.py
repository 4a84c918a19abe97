"""Intake's own connections to PostgreSQL, used on the event loop itself.

A batch of deliveries is inserted and committed (a synchronous commit: the
commit record is on disk before any answer) with psycopg's asynchronous API,
so the loop goes on reading requests while PostgreSQL works, and several
batches are in flight at once, each on its own connection.

Why: handed to threads (SQLAlchemy's pool, psycopg's blocking calls), each
batch waited for the GIL after every call while the loop parsed requests, and
intake stored 1,760 deliveries/s (13 % of the bare ceiling) with the
database mostly idle (docs/benchmarks.md, issue 18).

Anything that goes wrong here (no connection, a deadlock, a delivery the
database refuses) is not answered here: the caller stores the batch again
through the thread's path, which answers for each delivery.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import lru_cache
from typing import Optional

from sqlalchemy.engine import Engine

from storage import inbox
from storage.inbox import NewDelivery


@lru_cache(maxsize=None)  # one statement a batch size
def _native(sql: str) -> str:
    """The statement with PostgreSQL's own `$1, $2...` placeholders, for a raw cursor:
    psycopg then sends it as it is. With `%s`, it parsed the statement again for every
    batch (11 placeholders a delivery, past the size of the statements it keeps
    parsed): a quarter of intake's Python time on PostgreSQL."""
    parts = sql.split("%s")
    assert not any("%" in part for part in parts), "a literal % in intake's statement"
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


class AsyncPostgresStore:
    def __init__(self, engine: Engine):
        self.dialect = engine.dialect
        # libpq's form of the engine's URL (the driver name is SQLAlchemy's).
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._idle: list = []
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    async def store(self, deliveries: list[NewDelivery], now: datetime) -> list[bool]:
        """Each delivery's answer once committed; raises whatever went wrong (nothing stored then)."""
        import psycopg

        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._forget()  # connections belong to the loop that made them
            self._loop = loop
        # Autocommit: the batch is one INSERT, its own transaction, so no BEGIN and no
        # COMMIT go to the server (one round trip a batch, not three). The statement's
        # answer comes once its implicit transaction has committed (synchronous_commit
        # is on for these connections): nothing is answered before it is on disk.
        connection = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        try:
            sql, parameters = inbox.store_statement(self.dialect, deliveries, now)
            async with psycopg.AsyncRawCursor(connection) as cursor:
                await cursor.execute(_native(sql), parameters)
                stored = {row[0] for row in await cursor.fetchall()}
        except BaseException:
            connection.pgconn.finish()  # in an unknown state: never used again
            raise
        self._idle.append(connection)
        return inbox.stored_answers(deliveries, stored)

    def _forget(self) -> None:
        for connection in self._idle:
            connection.pgconn.finish()
        self._idle.clear()
