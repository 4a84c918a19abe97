"""The worker: takes stored deliveries from the inbox and applies them.

Each delivery is handled inside the transaction that claimed it: its effects,
the GitHub writes it owes (the outbox) and its `done` mark commit together.
A handler that raises leaves nothing behind (a savepoint is rolled back); the
delivery is tried again later with backoff and, after too many failures,
parked as `failed`, kept for an operator, and never blocks other issues. A
failure that is GitHub's own trouble (5xx, timeouts, rate limits) never parks
it: the delivery waits for GitHub, at the capped backoff, however long that is.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.pipeline.context import Context
from bot.pipeline.delivery import read_payload
from bot.github.client import GitHubError, GitHubReader
from bot.logs import delivery_logger
from bot.pipeline.routing import Router
from bot.settings import Settings
from bot.pipeline.pacing import BUSY_STEP, IntakeActivity
from bot.pipeline.retry import backoff
from storage import inbox
from storage import recovery as recovery_store
from storage.db import is_sqlite, redoable, try_again
from storage.installations import installation_active, touch_installation
from storage.tables import utcnow

log = logging.getLogger(__name__)

# Events about the installation itself are handled even when it is not active.
INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories", "ping"})
# Deliveries handled in one transaction, each in its own savepoint: one commit
# (and on SQLite one turn at the write lock) for many. On PostgreSQL a batch's
# row and advisory locks are held until its end, so two workers' batches taking
# the same ones in another order can deadlock: PostgreSQL then aborts one, which
# is rolled back whole, nothing counted against its deliveries, and run again at
# once one delivery at a time (`ALONE_AFTER_CONFLICT`). Smaller on PostgreSQL,
# where another worker may be waiting for the locks a batch holds.
SQLITE_BATCH = 16
POSTGRESQL_BATCH = 8
# After a batch was aborted for a deadlock: one delivery per transaction for this long.
ALONE_AFTER_CONFLICT = 1.0  # seconds
# After a handler failed in a batch run without savepoints: each delivery in a
# savepoint of its own for this long (see `Worker.run_once`).
SAVEPOINTS_AFTER_FAILURE = 1.0  # seconds


class _RunAgainWithSavepoints(Exception):
    """A handler failed in a batch run without savepoints: the batch is rolled back whole."""

    def __init__(self, delivery_id: str, failure: Exception):
        super().__init__(delivery_id)
        self.delivery_id, self.failure = delivery_id, failure


def _without_nul(value):
    """JSON may carry NUL (`\\u0000`) in a title or a comment; PostgreSQL text cannot hold it,
    and the delivery would fail for ever there (a bid lost, a sealed comment left up).
    Without recursion: however deep the payload, this cannot fail."""
    root = [value]
    stack: list = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = item.replace("\x00", "")
        elif isinstance(item, dict):
            cleaned = {(k.replace("\x00", "") if isinstance(k, str) else k): v for k, v in item.items()}
            container[key] = cleaned
            stack.extend((cleaned, k) for k in cleaned)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
    return root[0]


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        router: Router,
        github_call: Optional[Callable] = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        name: str = "worker",
        intake: Optional[IntakeActivity] = None,
        on_recovered: Optional[Callable[[Context], None]] = None,
        configs: Any = None,
        permissions: Any = None,
    ):
        self.engine = engine
        self.settings = settings
        self.router = router
        self.github_call = github_call
        self.clock = clock
        self.name = name
        # Intake's activity in this process, which the worker gives way to (bot.pipeline.pacing);
        # a process without intake (`devex-bot worker`) has one that is never busy.
        self.intake = intake if intake is not None else IntakeActivity()
        # Called after the handlers of a delivery that recovery asked GitHub to redeliver.
        self.on_recovered = on_recovered
        # What handlers read the repositories' configuration with (the composition
        # root passes bot.stages.configuration.ConfigStore; the pipeline knows no stage).
        self.configs = configs
        self.permissions = permissions  # bot.stages.people.PermissionMemory, shared by this worker's deliveries
        # Redone from the inbox after a power cut: commits need not wait for the disk.
        self._work_engine = redoable(engine)
        self.batch = SQLITE_BATCH if is_sqlite(engine) else POSTGRESQL_BATCH
        self._alone_until = 0.0  # time.monotonic() until which batches are of one delivery
        self._savepoints_until = 0.0  # time.monotonic() until which each delivery has its savepoint

    def run_once(self, limit: Optional[int] = None) -> int:
        """Handles the deliveries due (at most `batch`, one per ordering key); how many were claimed.

        A batch PostgreSQL aborts to break a deadlock (or a serialization failure) is
        rolled back whole, nothing counted as a failed attempt, and its deliveries are
        claimed again at once, one per transaction for the next `ALONE_AFTER_CONFLICT`
        seconds (this call handles the first; the next calls the others).

        A batch is first run without a savepoint for each delivery: two statements a
        delivery fewer (of about twelve for a bid), for the case that is nearly always
        the case. When one of its handlers fails, the batch is rolled back whole (no
        effect of it stays, nothing is counted) and run again at once, each delivery
        in a savepoint of its own as it always was before, so the one that fails is
        rolled back alone and counted, and the others commit; and so for the next
        `SAVEPOINTS_AFTER_FAILURE` seconds. The delivery that failed is not handled
        again: its failure is recorded as it would have been (its handlers ran once,
        as before, so a GitHub that refused it is not asked again at once). Those
        before it in the batch are handled again: what they did the first time was
        only written to the database, which is rolled back, or read from GitHub,
        which they read again; their writes to GitHub are queued in the outbox."""
        limit = min(limit or self.batch, self.batch)
        if limit > 1 and time.monotonic() < self._alone_until:
            limit = 1
        try:
            try:
                return self._run_batch(limit, savepoints=time.monotonic() < self._savepoints_until)
            except _RunAgainWithSavepoints as again:
                self._savepoints_until = time.monotonic() + SAVEPOINTS_AFTER_FAILURE
                return self._run_batch(limit, savepoints=True, failed=again)
        except DBAPIError as exc:
            if not try_again(exc):
                raise
            log.warning(
                "%s: a batch of up to %d was aborted by the database (%s) and rolled back, whatever it logged as handled; "
                "its deliveries are handled again, one at a time",
                self.name,
                limit,
                getattr(exc.orig, "sqlstate", ""),
            )
            self._alone_until = time.monotonic() + ALONE_AFTER_CONFLICT
            return self._run_batch(1, savepoints=True)

    def _run_batch(self, limit: int, savepoints: bool, failed: Optional[_RunAgainWithSavepoints] = None) -> int:
        now = self.clock()
        with Session(self._work_engine, expire_on_commit=False) as session:
            deliveries = inbox.claim(session, now, limit=limit)
            if not deliveries:
                # Nothing claimed, nothing changed: ended with a commit, not a rollback, after
                # which psycopg deallocates every prepared statement (storage/libpq.py).
                session.commit()
                return 0
            handled = 0
            done: list = []
            recovered = recovery_store.requested_among(session, [d.delivery_id for d in deliveries])
            for delivery in deliveries:
                if failed is not None and delivery.delivery_id == failed.delivery_id:
                    # It failed in the batch just rolled back: recorded, not handled again.
                    adapter = delivery_logger(delivery.delivery_id, delivery.installation_id, delivery.repository)
                    self._failed(session, delivery, failed.failure, now, adapter)
                    handled += 1
                    continue
                # With savepoints, each delivery's handlers run in one of their own (`_handle`):
                # one that fails is rolled back alone and retried later; the others'
                # effects, writes and `done` marks commit together.
                asked_github = self._handle(session, delivery, now, done, recovered=delivery.delivery_id in recovered, savepoint=savepoints)
                handled += 1
                if asked_github:
                    # It waited on GitHub holding the transaction (on SQLite, the write
                    # lock): commit now rather than make intake wait for more.
                    break
            inbox.mark_all_done(session, done, now)  # one UPDATE, in the same transaction
            session.commit()
            return handled

    def _handle(self, session: Session, delivery, now: datetime, done: list, recovered: bool = False, savepoint: bool = True) -> bool:
        """Applies one delivery (or records its failure); True when GitHub was asked something.
        A delivery handled is added to `done`, for the caller to mark before it commits.
        Without a `savepoint`, a handler's failure raises `_RunAgainWithSavepoints`."""
        adapter = delivery_logger(delivery.delivery_id, delivery.installation_id, delivery.repository)
        try:
            payload = read_payload(delivery.payload)  # orjson first, as intake reads it
            if "\\u0000" in delivery.payload:
                payload = _without_nul(payload)
            handlers = self.router.handlers(delivery.event, delivery.action, payload)
        except Exception as exc:
            # Unreadable: it must fail like a handler would (retried, then parked), not
            # raise out of run_once and be claimed again first, forever, blocking the queue.
            self._failed(session, delivery, exc, now, adapter)
            return False
        if delivery.installation_id is not None:
            account = ((payload.get("installation") or {}).get("account") or {}).get("login", "")
            # Held by the session for the whole batch (storage.db.hold): each queued write
            # looks the installation up again, and finds it in the identity map.
            touch_installation(session, delivery.installation_id, account)
            if delivery.event not in INSTALLATION_EVENTS and not installation_active(session, delivery.installation_id):
                adapter.info("installation not active; delivery %s ignored", delivery.event)
                inbox.mark_ignored(session, delivery, now)
                return False
        github = (
            GitHubReader(self.github_call, delivery.installation_id)
            if self.github_call is not None and delivery.installation_id is not None
            else None
        )
        ctx = Context(
            delivery_id=delivery.delivery_id,
            event=delivery.event,
            action=delivery.action,
            payload=payload,
            installation_id=delivery.installation_id,
            repository=delivery.repository,
            session=session,
            github=github,
            settings=self.settings,
            now=now,
            received_at=delivery.received_at,
            log=adapter,
            configs=self.configs,
            permissions=self.permissions,
            recovered=recovered,
        )
        try:
            with session.begin_nested() if savepoint else nullcontext():
                for handler in handlers:
                    handler(ctx)
                if recovered and self.on_recovered is not None:
                    self.on_recovered(ctx)
                ctx.store_writes()  # within the savepoint: a failure above leaves none
        except Exception as exc:
            if isinstance(exc, DBAPIError) and try_again(exc):
                # The database aborted the transaction to break a deadlock: not this
                # delivery's failure. The whole batch is rolled back and run again.
                raise
            if not savepoint:
                adapter.info("delivery %s.%s failed in a batch without savepoints (%s): the batch is run again", delivery.event, delivery.action, type(exc).__name__)
                raise _RunAgainWithSavepoints(delivery.delivery_id, exc) from exc
            self._failed(session, delivery, exc, now, adapter)
            return bool(github and github.calls)
        done.append(delivery)
        adapter.info("delivery %s.%s handled by %d handler(s)", delivery.event, delivery.action, len(handlers))
        return bool(github and github.calls)

    def _failed(self, session: Session, delivery, exc: Exception, now: datetime, adapter) -> None:
        wait = backoff(delivery.attempts, self.settings.retry_base, self.settings.retry_cap)
        # GitHub's own trouble (5xx, timeouts, rate limits, its token endpoint) passes: such a
        # delivery waits for GitHub however long it takes; only one that fails for its own
        # reasons is parked after max_delivery_attempts.
        waits_for_github = isinstance(exc, GitHubError) and exc.retryable
        if waits_for_github and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        if isinstance(exc, GitHubError) and exc.authentication:
            # The app's credentials: only the operator can fix them. No traceback, no fast
            # retries, and nothing parked: the delivery waits the longest interval, so it
            # takes effect after the fix (and a restart) without anyone re-queueing it.
            wait = self.settings.retry_cap
            adapter.error("delivery %s.%s not handled: %s; kept, tried again in %.0fs", delivery.event, delivery.action, exc, wait)
            inbox.mark_failed_attempt(
                session, delivery, f"{type(exc).__name__}: {exc}", retry_in=timedelta(seconds=wait), max_attempts=sys.maxsize, now=now
            )
            return
        # exc_info: also outside its except block (a failure carried from a batch rolled back).
        adapter.error("delivery %s.%s failed (attempt %d)", delivery.event, delivery.action, delivery.attempts + 1, exc_info=exc)
        inbox.mark_failed_attempt(
            session,
            delivery,
            f"{type(exc).__name__}: {exc}",
            retry_in=timedelta(seconds=wait),
            max_attempts=sys.maxsize if waits_for_github else self.settings.max_delivery_attempts,
            now=now,
        )

    def drain(self, limit: int = 100000) -> int:
        """Handles deliveries until none is due; returns how many."""
        handled = 0
        while handled < limit:
            claimed = self.run_once()
            if not claimed:
                break
            handled += claimed
        return handled

    def run_forever(self, stop: threading.Event) -> None:
        log.info("%s started", self.name)
        while not stop.is_set():
            mark = self.intake.mark()
            try:
                # Smaller steps while intake is busy: it waits less for the GIL and the lock.
                busy = self.run_once(limit=BUSY_STEP if self.intake.busy() else None)
            except Exception:
                log.exception("%s: database trouble; retrying", self.name)
                busy = False
            if not busy:
                stop.wait(self.settings.poll_interval)
            else:
                self.intake.rest(stop, mark)
        log.info("%s stopped", self.name)
