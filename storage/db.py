"""Engines and sessions for SQLite (the default, WAL mode) and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

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


class _FifoLock:
    """A lock handed over in the order it was asked for: a thread that gives it
    back cannot take it again ahead of one already waiting (a plain Lock lets
    the worker and sender retake it, back to back, while intake waits)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    def acquire(self, timeout: float) -> bool:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            if self._cond.wait_for(lambda: self._serving == ticket, timeout):
                return True
            self._abandoned.add(ticket)  # its turn is skipped when it comes
            return False

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


def _sqlite_connection_class(write_lock: _FifoLock) -> type:
    """A pysqlite connection that gives the process's write lock back when its transaction ends."""

    class Connection(sqlite3.Connection):
        holds_write_lock = False

        def take_write_lock(self) -> None:
            self.holds_write_lock = write_lock.acquire(timeout=WRITE_LOCK_WAIT)

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
        write_lock = _FifoLock()
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
            dbapi_connection.take_write_lock()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.rollback()  # gives the lock back
                raise

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


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
