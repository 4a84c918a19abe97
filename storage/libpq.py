"""A hot statement on PostgreSQL straight through libpq: psycopg's own connection,
dumpers and loaders, without its cursor.

psycopg's cursor costs about 45 us of CPU a statement on top of libpq's own work
(its execution generators, the prepared-statement book-keeping, a cursor made and
closed each time): a statement run with `cursor.execute` and read with
`fetchall` took 70 to 77 us of the client's CPU, the same statement prepared once
and run with `PGconn.exec_prepared`, its values dumped and its rows loaded by
psycopg's `Transformer`, 26 to 27 (this machine, 2026-12-02; docs/benchmarks.md,
issue 18, eleventh pass). A bid runs about ten such statements in the worker.

The statement, its values and its rows are psycopg's: the same SQL (its
`%(name)s` placeholders numbered as psycopg numbers them), the values dumped by
the connection's own dumpers in text, the rows loaded by its loaders, an error
raised as psycopg raises it (the class for its SQLSTATE: a deadlock is still
`DeadlockDetected`, which the worker runs again). libpq lets go of the
interpreter's lock while it waits for the server, as psycopg does.

A prepared statement lives in the server session until psycopg deallocates it:
psycopg drops every statement it prepared at a rollback (`DEALLOCATE ALL`) and
the oldest past `prepared_max`. So these statements are entered in psycopg's own
register of prepared statements (`Connection._prepared`), keyed apart from its
own; when psycopg clears or rotates the register, ours go with its, and are
prepared again, under a new name, the next time they run.

A background transaction (the worker's, the sender's) begins the same way: psycopg's
BEGIN and its `SET LOCAL synchronous_commit TO OFF` in one round trip (`begin_with`),
where psycopg would send its BEGIN alone and the SET after it.

Statements that return no rows and wait for no answer of one another go together
(`run_many`): libpq's pipeline mode, one round trip for all. The pool's check of a
connection before it hands it out skips its round trip where the connection is known
open (`quiet`, installed by `ping_quietly`).

This path is taken only where it does exactly what the cursor would: a psycopg 3
connection in the middle of a transaction (psycopg begins one itself at the first
statement of a transaction, with its BEGIN), no pipeline open, its register of
prepared statements as this module knows it. Anywhere else (`None`), the caller
runs the statement on a cursor.
"""

from __future__ import annotations

import itertools
import select
import time
import weakref
from typing import Any, Optional

import psycopg
import sqlalchemy as sa
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result

from storage.driver_errors import driver_error

_TUPLES_OK, _COMMAND_OK = pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK
_PIPELINE_SYNC, _PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_SYNC, pq.ExecStatus.PIPELINE_ABORTED
_PIPELINES_UNKNOWN = pq.version() < 140000  # libpq's pipeline mode came with PostgreSQL 14
_IN_TRANSACTION, _IDLE = pq.TransactionStatus.INTRANS, pq.TransactionStatus.IDLE
_names = itertools.count(1)
_TRANSFORMER = "devex_libpq_transformer"


def run(proxied: Any, sql: bytes, values: list, returns_rows: bool) -> Optional[list]:
    """The statement's rows ([] when it returns none), or None when this path does not
    apply (nothing sent). `proxied`: the SQLAlchemy pool's connection; `sql`: the
    statement with `$1`-style parameters; `values`: converted, in their order."""
    usable = _usable(proxied)
    if usable is None:
        return None
    connection, register, transformer = usable
    with connection.lock:  # as psycopg holds it for each of its own statements
        return _run(connection, connection.pgconn, register, transformer, sql, values, returns_rows)


def _usable(proxied: Any) -> Optional[tuple[psycopg.Connection, Any, Transformer]]:
    """The pool connection's psycopg connection, its register of prepared statements and
    the connection's transformer, where this path does what the cursor would: a psycopg
    3 connection in the middle of a transaction, no pipeline open, prepared statements
    wanted (not so behind PgBouncer: `prepare_threshold` None), a register this module
    knows; else None."""
    connection = _plain(proxied)
    if connection is None or connection.prepare_threshold is None:
        return None
    if connection.pgconn.transaction_status != _IN_TRANSACTION:
        return None
    register = getattr(getattr(connection, "_prepared", None), "_names", None)
    if not hasattr(register, "move_to_end"):
        return None  # a psycopg whose register this module does not know
    transformer = proxied.info.get(_TRANSFORMER)
    if transformer is None or transformer.connection is not connection:
        transformer = proxied.info[_TRANSFORMER] = Transformer(connection)
    return connection, register, transformer


def _prepared(connection: Any, pgconn: Any, register: Any, sql: bytes, types: Any, encoding: str) -> bytes:
    """The name the statement is prepared under in the server session, for values of
    these types: prepared now (one round trip) when it is not yet."""
    # Keyed as psycopg keys its own (the query, its values' types), under a prefix of ours.
    key = (b"devex:" + sql, types)
    name = register.get(key)
    if name is None:
        name = b"devex_%d" % next(_names)
        prepared = pgconn.prepare(name, sql, types)
        if prepared.status != _COMMAND_OK:
            raise _failure(connection, prepared, encoding)
        register[key] = name
    else:
        register.move_to_end(key)
    return name


def _run(connection: Any, pgconn: Any, register: Any, transformer: Transformer, sql: bytes, values: list, returns_rows: bool) -> list:
    dumped = transformer.dump_sequence(values, [PyFormat.TEXT] * len(values))
    encoding = connection.info.encoding
    name = _prepared(connection, pgconn, register, sql, transformer.types, encoding)
    result = pgconn.exec_prepared(name, dumped, transformer.formats, 0)
    status = result.status
    if status == _TUPLES_OK:
        if not returns_rows:
            return []
        transformer.set_pgresult(result)
        rows = transformer.load_rows(0, result.ntuples, tuple)
        transformer.set_pgresult(None)  # the result (a proposal's text, say) not kept alive with the connection
        return rows
    if status == _COMMAND_OK:
        return []
    raise _failure(connection, result, encoding)


class Refused(Exception):
    """The server refused one of the statements `run_many` sent together: its place among
    them (`index`), and psycopg's error for it (`error`)."""

    def __init__(self, index: int, error: Exception):
        super().__init__(index, error)
        self.index, self.error = index, error


def run_many(proxied: Any, statements: list[tuple[bytes, list]]) -> bool:
    """Runs statements that return no rows (each its `$1`-style SQL and its values), in
    their order, in one round trip to the server (libpq's pipeline mode: every execution
    sent, then one sync, then their answers read); False when this path does not apply
    (nothing sent: the caller runs them on a cursor).

    What psycopg's `executemany` does (its pipeline), for about a third of its CPU: two
    rows inserted took 357 to 483 us of the client's CPU through the cursor, 128 to 148
    here (this machine, 2026-12-03; docs/benchmarks.md, issue 18, thirteenth pass). As
    there, a statement the server refuses aborts those after it and the transaction:
    `Refused` is raised, with psycopg's error for it (the class of its SQLSTATE)."""
    if not statements:
        return True  # nothing to send
    usable = None if _PIPELINES_UNKNOWN else _usable(proxied)
    if usable is None:
        return False
    connection, register, transformer = usable
    with connection.lock:
        _pipelined(connection, connection.pgconn, register, transformer, statements)
    return True


def _pipelined(connection: Any, pgconn: Any, register: Any, transformer: Transformer, statements: list[tuple[bytes, list]]) -> None:
    encoding = connection.info.encoding
    sends = []
    for index, (sql, values) in enumerate(statements):  # dumped and prepared first: not inside the pipeline
        dumped = transformer.dump_sequence(values, [PyFormat.TEXT] * len(values))
        try:
            name = _prepared(connection, pgconn, register, sql, transformer.types, encoding)
        except psycopg.DatabaseError as error:
            raise Refused(index, error) from error
        sends.append((name, dumped, transformer.formats))
    refused, done = None, 0
    pgconn.enter_pipeline_mode()
    try:
        for name, dumped, formats in sends:
            pgconn.send_query_prepared(name, dumped, formats)
        pgconn.pipeline_sync()
        while pgconn.flush():  # psycopg's connections are non-blocking: what is left, once writable
            _ready(pgconn.socket, select.POLLIN | select.POLLOUT, None)
            pgconn.consume_input()
        while True:
            while pgconn.is_busy():  # waits for the server with the interpreter's lock let go
                _ready(pgconn.socket, select.POLLIN, None)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                done += 1  # the end of one statement's results
                if done > len(sends) or pgconn.status == pq.ConnStatus.BAD:
                    # No sync will come (libpq lost the connection's thread): not waited for forever.
                    raise psycopg.OperationalError(f"the connection to the server was lost: {pgconn.get_error_message(encoding)}")
                continue
            status = result.status
            if status == _PIPELINE_SYNC:
                break
            if status not in (_COMMAND_OK, _TUPLES_OK, _PIPELINE_ABORTED) and refused is None:
                refused = (done, result)  # the first refusal; those after it are reported aborted
        pgconn.exit_pipeline_mode()
    except BaseException:
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:
            # Answers left unread on the wire: the connection cannot be used again. Closed, so
            # that its next use fails as a dropped connection's does and the pool replaces it.
            pgconn.finish()
        raise
    if refused is not None:
        raise Refused(refused[0], _failure(connection, refused[1], encoding))


def begin_with(connection: sa.Connection, then: str) -> None:
    """A SQLAlchemy connection's transaction begun with `then` as its first statement:
    with psycopg's BEGIN in one round trip (`begin`), else on a cursor after it. A
    failure is SQLAlchemy's error, as the cursor's would be; a connection found
    dropped is invalidated (the pool makes a new one)."""
    try:
        begun = begin(connection.connection, then.encode())
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, then, None, error, None) from error
    if not begun:
        connection.exec_driver_sql(then)


def begin(proxied: Any, then: bytes) -> bool:
    """Opens the connection's transaction with psycopg's own BEGIN and `then` (a
    statement to run first in it, such as `SET LOCAL ...`) in one round trip to the
    server, where psycopg would have sent its BEGIN alone before the first statement;
    False (nothing sent) where this does not apply: the caller runs `then` on a cursor.

    psycopg begins a transaction itself only when the server says none is open, so it
    sends no BEGIN of its own after this one, and commits or rolls back this one as
    its own."""
    connection = _plain(proxied)
    if connection is None or connection.autocommit:
        return False
    start = getattr(connection, "_get_tx_start_command", None)
    pgconn = connection.pgconn
    if start is None or pgconn.transaction_status != _IDLE:
        return False
    with connection.lock:
        result = pgconn.exec_(start() + b"; " + then)
    if result.status != _COMMAND_OK:
        raise _failure(connection, result, connection.info.encoding)
    return True


# A connection given back to the pool this recently is handed out again without a ping
# when nothing came from the server meanwhile (`quiet`); one idle longer is pinged.
QUIET_FOR = 1.0  # seconds
_returned: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()


def quiet(dbapi_connection: Any) -> bool:
    """Whether a psycopg connection the pool hands out is known to be open without asking
    the server: given back to the pool less than `QUIET_FOR` ago, libpq holding it open
    and idle, and nothing come from the server since its last answer. A server that
    ends a session (a restart, `pg_terminate_backend`, an idle timeout) tells the client
    and closes the socket, which then reads as ready: such a connection, one idle
    longer (whose peer may have gone without a word: a host that crashed, a failover,
    a firewall's idle expiry), or any other, says False, and the pool asks the server
    (its ping, a round trip, as before). A busy worker or sender takes its connection
    back within milliseconds: the ping cost a round trip to PostgreSQL every transaction
    (docs/benchmarks.md, issue 18, thirteenth pass)."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if type(dbapi_connection) is not psycopg.Connection or pgconn is None:
        return False
    returned = _returned.get(dbapi_connection)
    if returned is None or time.monotonic() - returned > QUIET_FOR:
        return False
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != _IDLE or pgconn.pipeline_status != pq.PipelineStatus.OFF:
        return False
    try:
        return not _ready(pgconn.socket, select.POLLIN, 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return False


def ping_quietly(engine: sa.Engine) -> None:
    """The pool's check of a connection before it hands it out (SQLAlchemy's pre-ping):
    without a round trip when the connection is known open (`quiet`), else by asking the
    server as before."""
    dialect = engine.dialect
    asked = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        return quiet(dbapi_connection) or asked(dbapi_connection)

    dialect.do_ping = do_ping  # type: ignore[method-assign]

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            _returned[dbapi_connection] = time.monotonic()


def _ready(fd: int, events: int, timeout_ms: Optional[int]) -> bool:
    """Whether the socket is ready for `events` (poll: any descriptor number, unlike
    select's 1,024), waiting up to `timeout_ms` (None: until it is) with the
    interpreter's lock let go."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(timeout_ms))


def _plain(proxied: Any) -> Optional[psycopg.Connection]:
    """The pool connection's psycopg 3 connection, when no pipeline is open on it."""
    connection = proxied.dbapi_connection
    if type(connection) is not psycopg.Connection or connection._pipeline is not None:
        return None
    return connection


def _failure(connection: Any, result: Any, encoding: str) -> Exception:
    """psycopg's error for a failed result (the class of its SQLSTATE: a server that
    shut the session down is `AdminShutdown`); where the connection was lost without a
    word from the server, the OperationalError psycopg's cursor would raise."""
    if connection.pgconn.status == pq.ConnStatus.BAD and not result.error_field(pq.DiagnosticField.SQLSTATE):
        return psycopg.OperationalError(f"the connection to the server was lost: {connection.pgconn.get_error_message(encoding)}")
    return error_from_result(result, encoding=encoding)
