"""Engines and sessions for SQLite (the default, WAL mode) and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# How long a thread waits for the process's SQLite write lock before leaving
# the wait to SQLite's own busy timeout (the same 30 s).
WRITE_LOCK_WAIT = 30.0

# An execution option: how durable a transaction's commit must be. "full" (the
# default) waits for the disk; "deferred" does not: SQLite's synchronous=NORMAL
# in WAL mode, PostgreSQL's synchronous_commit=off. A deferred commit can be
# lost in a power cut (never half-applied), but the next full commit makes it,
# and everything before it, durable: the log is written in order, and syncing
# it syncs every earlier transaction too. Only work that is redone from what a
# full commit stored (the inbox, the outbox) may defer; see `redoable`.
DURABILITY = "devex_durability"
# An execution option: on SQLite, the transaction's turn at the write lock comes
# before any background work's (see `urgent`).
URGENT = "devex_urgent"


# How many urgent turns at most pass before a waiting background transaction's.
URGENT_TURNS = 4
# An execution option: on SQLite, begin only if the write lock is free this
# instant, else raise `WriteLockBusy` at once (see `at_once`).
AT_ONCE = "devex_at_once"


class WriteLockBusy(Exception):
    """The process's SQLite write lock was not free, and the transaction asked not to wait (`at_once`)."""


class _TurnLock:
    """A lock handed over in the order it was asked for, urgent askers first: a
    thread that gives it back cannot take it again ahead of one already waiting
    (a plain Lock lets the worker and sender retake it, back to back, while intake
    waits), and intake, whose callers are waiting for an answer, does not queue
    behind background work."""

    class _Waiter:
        granted = False
        urgent = False
        notify = None

    checkpointer = False  # whether a Checkpointer copies the WAL back (then no commit does)

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._urgent: deque = deque()
        self._normal: deque = deque()
        self._urgent_in_a_row = 0

    def _taken_or_queued(self, urgent: bool, queue: bool):
        """(Called holding _cond.) True when the lock was free (now held); else a new
        waiter queued, or None with `queue` false."""
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return True
        if not queue:
            return None
        waiter = self._Waiter()
        waiter.urgent = urgent
        (self._urgent if urgent else self._normal).append(waiter)
        return waiter

    def acquire(self, timeout: float, urgent: bool = False) -> bool:
        with self._cond:
            waiter = self._taken_or_queued(urgent, queue=timeout > 0)
            if waiter is True:
                return True
            if waiter is None:
                return False  # not free, and not to be waited for
            if self._cond.wait_for(lambda: waiter.granted, timeout):
                return True
            return self._withdrawn(waiter)  # not granted: its turn is skipped

    def acquire_or_queue(self, notify: Callable[[], None], urgent: bool = False):
        """True when the lock was free this instant (now held); else a waiter queued for
        it, whose `notify` the releasing thread calls once the lock is handed to it
        (`withdraw` gives up its turn): for an event loop, which must not wait."""
        with self._cond:
            waiter = self._taken_or_queued(urgent, queue=True)
            if waiter is not True:
                waiter.notify = notify
            return waiter

    def withdraw(self, waiter) -> bool:
        """A queued waiter gives up its turn; True when it was handed the lock already
        (then its caller holds it, and releases it)."""
        with self._cond:
            return self._withdrawn(waiter)

    def _withdrawn(self, waiter) -> bool:
        if waiter.granted:
            return True
        (self._urgent if waiter.urgent else self._normal).remove(waiter)
        return False

    def release(self) -> None:
        with self._cond:
            queue = self._next_queue()
            if not queue:
                self._held = False
                return
            waiter = queue.popleft()
            waiter.granted = True  # handed over: it stays held
            self._cond.notify_all()
        if waiter.notify is not None:
            waiter.notify()

    def _next_queue(self) -> deque:
        # Urgent first, but never for ever: under an endless flood of deliveries the
        # background work still gets one turn in URGENT_TURNS + 1.
        if self._urgent and (not self._normal or self._urgent_in_a_row < URGENT_TURNS):
            self._urgent_in_a_row += 1
            return self._urgent
        self._urgent_in_a_row = 0
        return self._normal


def _sqlite_connection_class(write_lock: _TurnLock) -> type:
    """A pysqlite connection that gives the process's write lock back when its transaction ends."""

    class Connection(sqlite3.Connection):
        holds_write_lock = False
        synchronous = "FULL"  # what make_engine's connect hook sets
        autocheckpoint = True  # SQLite's default: the commit that fills the WAL past 1,000 pages copies it back

        def set_autocheckpoint(self, on: bool) -> None:
            """Off while a `Checkpointer` runs: then no commit (intake's above all) pays for a checkpoint."""
            if on != self.autocheckpoint:
                self.execute(f"PRAGMA wal_autocheckpoint={1000 if on else 0}")
                self.autocheckpoint = on

        def set_synchronous(self, level: str) -> None:
            """SQLite takes it only between transactions: set at BEGIN, kept until changed."""
            if level != self.synchronous:
                self.execute(f"PRAGMA synchronous={level}")
                self.synchronous = level

        def take_write_lock(self, urgent: bool = False, at_once: bool = False) -> None:
            self.holds_write_lock = write_lock.acquire(timeout=0 if at_once else WRITE_LOCK_WAIT, urgent=urgent)
            if at_once and not self.holds_write_lock:
                raise WriteLockBusy()

        def _give_back(self) -> None:
            if self.holds_write_lock:
                self.holds_write_lock = False
                write_lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._give_back()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._give_back()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._give_back()

    return Connection


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # The threads of one process (intake, worker, sender, scheduler) queue for
        # SQLite's write lock here, in turn: SQLite's busy handler has a waiter
        # sleep and poll, up to 100 ms a try, and intake lost nearly every race
        # (p99 2 s, 90 deliveries/s while the worker worked).
        write_lock = _TurnLock()
        engine = sa.create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "isolation_level": None,
                "factory": _sqlite_connection_class(write_lock),
            },
            **kwargs,
        )

        engine.devex_write_lock = write_lock  # type: ignore[attr-defined]  (for Checkpointer)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a delivery acknowledged to GitHub survives a crash of the machine too.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # pysqlite's own transaction handling is off (isolation_level=None);
            # take the write lock at BEGIN so two writers never deadlock on upgrade.
            dbapi_connection = conn.connection.dbapi_connection
            options = conn.get_execution_options()
            dbapi_connection.take_write_lock(urgent=bool(options.get(URGENT)), at_once=bool(options.get(AT_ONCE)))
            try:
                deferred = options.get(DURABILITY) == "deferred"
                dbapi_connection.set_synchronous("NORMAL" if deferred else "FULL")
                dbapi_connection.set_autocheckpoint(not write_lock.checkpointer)
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.rollback()  # gives the lock back
                raise

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    engine = sa.create_engine(url, **kwargs)

    if engine.dialect.name == "postgresql":
        from storage import libpq

        libpq.ping_quietly(engine)

        @event.listens_for(engine, "begin")
        def _postgresql_begin(conn):
            if conn.get_execution_options().get(DURABILITY) == "deferred":
                # Sent with psycopg's BEGIN, in one round trip, where it can.
                libpq.begin_with(conn, "SET LOCAL synchronous_commit TO OFF")

    return engine


class Checkpointer:
    """SQLite's WAL checkpoints off the request path.

    By default the commit that takes the WAL past 1,000 pages (4 MB, some 250
    deliveries) copies it back into the database file and syncs it, while it
    holds the write lock: every few hundred deliveries one batch's answers wait
    for it (p99 of a 16-delivery intake commit 48 ms, against 23 ms with the
    checkpoints here, docs/benchmarks.md). While a Checkpointer runs, the
    engine's commits do no checkpoint; this thread, on its own connection,
    copies the WAL back beside the writers (PASSIVE: it blocks nobody), then,
    once it has caught up to within `tail_pages`, finishes the few frames left
    in one turn at the process's write lock, so the next writer starts the WAL
    over from its beginning and it does not grow. Durability is the same: a
    checkpoint never changes what a commit made durable (it is in the WAL,
    synced), and its own copy is synced (`synchronous=FULL`).
    """

    def __init__(self, engine: Engine, interval: float = 0.25, tail_pages: int = 256):
        self.engine = engine
        self.interval = interval
        self.tail_pages = tail_pages
        self.write_lock: _TurnLock = engine.devex_write_lock  # type: ignore[attr-defined]

    def run_forever(self, stop: threading.Event) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:":
            return
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.write_lock.checkpointer = True
        try:
            connection.execute("PRAGMA synchronous=FULL")
            while not stop.wait(self.interval):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error:
                    pass  # tried again next time
        finally:
            self.write_lock.checkpointer = False
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        _busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > 0 and frames - copied <= self.tail_pages:
            # The tail, with no writer of this process in the middle of a transaction:
            # afterwards every frame is copied and the next writer restarts the WAL.
            if self.write_lock.acquire(timeout=WRITE_LOCK_WAIT):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                finally:
                    self.write_lock.release()


def redoable(engine: Engine) -> Engine:
    """The same engine (pool, write lock) whose transactions commit without waiting for the disk.

    For the worker and the sender: what they commit is redone after a power cut
    from what intake committed durably (a delivery still pending is handled
    again; a write still pending is sent again, which is harmless for edits,
    labels and deletions). The one exception, the note that GitHub may be
    asked to create something, is committed with `durable` before the call.
    Intake never uses this.
    """
    return engine.execution_options(**{DURABILITY: "deferred"})


def urgent(engine: Engine) -> Engine:
    """The same engine, whose transactions take the SQLite write lock ahead of the
    worker's and sender's: for intake, whose callers (GitHub) wait for the answer."""
    return engine.execution_options(**{URGENT: True})


def at_once(engine: Engine) -> Engine:
    """The same engine, whose transactions on SQLite begin only when the process's write
    lock is free this instant, else raise `WriteLockBusy` without waiting: for a caller
    that must not block (intake on the event loop's thread) and has somewhere else to wait."""
    return engine.execution_options(**{AT_ONCE: True})


def commit_waits_for_the_disk(session: Session) -> bool:
    """Makes the session's transaction commit with full durability, whatever its engine's
    (a `redoable` one's included), where the database allows it mid-transaction:
    PostgreSQL, whose `synchronous_commit` is read at commit. True then; False on
    SQLite, whose level is set at BEGIN (use a `durable` transaction of its own)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    connection.exec_driver_sql("SET LOCAL synchronous_commit TO on")
    return True


def durable(engine: Engine) -> Engine:
    """The same engine with full durability again (for a commit that must survive a power cut)."""
    return engine.execution_options(**{DURABILITY: "full"})


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was
# aborted to let another through, and is meant to be run again.
TRY_AGAIN_SQLSTATES = frozenset({"40P01", "40001"})


def try_again(exc: BaseException) -> bool:
    """Whether a failed transaction was a victim of concurrency and may simply be run again."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in TRY_AGAIN_SQLSTATES


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


def hold(session: Session, row):
    """Keeps `row` (an ORM object, or None) for as long as `session` lives, and returns it.

    The identity map keeps only weak references: an object nobody holds is
    dropped, and the next `session.get` of it reads the database again. The
    worker handles a batch of deliveries in one session; what each reads by
    key (its installation, its repository's configuration) is then read once
    for the batch."""
    if row is not None:
        session.info.setdefault("devex_held", []).append(row)
    return row
