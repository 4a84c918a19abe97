"""A driver's error, for a statement run on the driver itself (storage/compiled.py,
storage/libpq.py), raised as SQLAlchemy raises its own."""

from __future__ import annotations

import sqlalchemy as sa


def driver_error(connection: sa.Connection, sql: str, arguments, error: Exception, cursor) -> sa.exc.DBAPIError:
    """The driver's error, for a statement run on the driver itself, as SQLAlchemy raises
    it (a deadlock's SQLSTATE on `.orig`); a connection found dropped is invalidated."""
    dialect = connection.dialect
    dropped = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if dropped:
        connection.invalidate(error)
    return sa.exc.DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error, connection_invalidated=dropped, dialect=dialect)
