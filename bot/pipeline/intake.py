"""The web process: `POST /webhooks` (intake) and `GET /healthz`.

Intake answers GitHub as soon as a delivery is durably stored, and does no
other work: the worker applies it afterwards. Concurrent deliveries are
stored in one transaction together (group commit), so many connections share
one disk flush (on SQLite made by intake's writer process while the loop goes
on: bot/pipeline/intake_sqlite.py).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable, Optional, Union

import anyio
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.pipeline.webhooks import MAX_BODY, WebhookEndpoint, signature_ok  # noqa: F401 (MAX_BODY, signature_ok: part of intake's API)
from bot.pipeline.intake_postgres import AsyncPostgresStore
from bot.pipeline.intake_sqlite import HelperFailed, SqliteWriterProcess
from bot.pipeline.pacing import IntakeActivity
from bot.pipeline.routing import Router
from storage import inbox
from storage.db import WRITE_LOCK_WAIT, at_once, is_sqlite, ping, try_again, urgent
from storage.inbox import NewDelivery
from storage.tables import utcnow

log = logging.getLogger(__name__)

BATCH = 200
STORE_ATTEMPTS = 3
# Batches being stored at once. SQLite has one writer: one batch at a time, the next
# gathered meanwhile. PostgreSQL commits concurrent transactions side by side (and
# flushes their commit records together), so a batch need not wait for the one
# before it to be flushed: intake there was bound by one commit's wait at a time.
# Deliveries stored at once in two batches are ones GitHub sent at once, whose
# order is no more defined than that of two web processes storing them.
POSTGRESQL_PARALLEL = 4


def _database_unreachable(exc: BaseException) -> bool:
    """The database itself is away (not one delivery it refuses): a connection lost or refused."""
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or (isinstance(exc, OperationalError) and not try_again(exc)))


class IntakeWriter:
    """Stores deliveries; requests arriving together share one commit."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        # Urgent: on SQLite its turn at the write lock comes before background work's.
        self.engine = urgent(engine)
        self._at_once = at_once(self.engine)
        # SQLite in a file: a batch stored by intake's writer process while the loop goes on,
        # the process's write lock held for it (bot/pipeline/intake_sqlite.py).
        self._helper: Optional[SqliteWriterProcess] = None
        database = engine.url.database if is_sqlite(engine) else None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._helper = SqliteWriterProcess(database)
            self._write_lock = engine.devex_write_lock
        self.clock = clock
        self._queue: Optional[asyncio.Queue] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._task: Optional[asyncio.Task] = None
        # Threads of its own: the hop to them costs less than anyio's pool.
        self._threads: Optional[ThreadPoolExecutor] = None
        self.parallel = 1 if is_sqlite(engine) else POSTGRESQL_PARALLEL
        self._postgres = AsyncPostgresStore(engine) if engine.dialect.name == "postgresql" else None
        self._in_flight: set = set()

    def _store_batch(self, deliveries: list[NewDelivery]) -> list[Union[bool, BaseException]]:
        """Each delivery's answer: stored (True), a duplicate (False), or why it could not be."""
        try:
            return list(self._store_together(deliveries))
        except Exception as exc:
            if len(deliveries) == 1:
                return [exc]
            if _database_unreachable(exc):
                return [exc] * len(deliveries)  # every one would fail the same way, one by one
            if isinstance(exc, DBAPIError) and try_again(exc):
                # Two web processes storing the same delivery ids in crossed order (GitHub
                # redelivering while the first attempt is in flight) deadlock on the unique
                # key, and PostgreSQL aborts one.
                log.warning("storing %d deliveries together met a deadlock; storing them one by one", len(deliveries))
            else:
                # One delivery the database refuses must not sink the others stored with it.
                log.warning("storing %d deliveries together failed (%s); storing them one by one", len(deliveries), type(exc).__name__)
        # One delivery per transaction, in the order received: it cannot deadlock, and
        # each gets its own answer.
        return [self._store_alone(d) for d in deliveries]

    def _store_together(self, deliveries: list[NewDelivery], engine: Optional[Engine] = None) -> list[bool]:
        # One transaction for the batch, committed (fsync on SQLite, a synchronous
        # commit on PostgreSQL) before any of its deliveries is answered.
        with (engine or self.engine).begin() as connection:
            return inbox.store_many(connection, deliveries, self.clock())

    def _store_here(self, deliveries: list[NewDelivery]) -> Optional[list[Union[bool, BaseException]]]:
        """SQLite: the batch stored on the event loop's own thread when the write lock is
        free this instant; None when it is not (or the batch failed), for the thread
        (`_store_batch`) to wait for it there, never the loop.

        Why on the loop: intake here is bound by latency (GitHub's connections each
        wait for their answer), and a batch of 8 takes about 1 ms on the loop (insert
        and fsync, the GIL let go during both) against 2.5 to 3 ms handed to a thread:
        the hop there and back, and the GIL taken back from the busy loop after each
        SQLite call. Even the commit alone on a thread cost more than it saved:
        2,400 deliveries/s against 3,700 on the loop (docs/benchmarks.md, issue 18).
        Where a writer process can do it (a database in a file) it does: the loop
        then does not wait for the insert nor the disk (`_store_by_helper`)."""
        try:
            return self._store_together(deliveries, self._at_once)
        except Exception:  # WriteLockBusy, or a batch to answer delivery by delivery
            return None

    async def _store_on_loop(self, deliveries: list[NewDelivery]) -> Optional[list[bool]]:
        """The batch stored from the event loop (SQLite: `_store_by_helper`, or
        `_store_here` where there is no writer process; PostgreSQL:
        `AsyncPostgresStore`), or None when it was not (nothing stored): the thread's
        path (`_store_batch`) then stores it and answers for each delivery."""
        if self._postgres is not None:
            try:
                return await self._postgres.store(deliveries, self.clock())
            except Exception:
                return None
        if not is_sqlite(self.engine):
            return None
        if self._helper is None or self._helper.broken:
            return self._store_here(deliveries)
        return await self._store_by_helper(deliveries)

    async def _store_by_helper(self, deliveries: list[NewDelivery]) -> Optional[list[bool]]:
        """SQLite: the batch stored by intake's writer process, the write lock held for it
        (taken at once, or intake's turn waited for on the loop); None when the helper
        did not store the batch or the lock did not come within WRITE_LOCK_WAIT (the
        thread's path then stores what is not stored yet)."""
        lock = self._write_lock
        if not await self._take_write_lock(lock):
            return None
        try:
            sql, parameters = inbox.store_statement(self.engine.dialect, deliveries, self.clock())
            stored = await self._helper.store(sql, parameters, lock.checkpointer)
        except HelperFailed as failure:
            log.warning("intake's writer process did not store %d deliveries (%s): storing them here", len(deliveries), failure)
            return None
        finally:
            lock.release()
        return inbox.stored_answers(deliveries, set(stored))

    async def _take_write_lock(self, lock) -> bool:
        """The process's write lock for intake's writer process: at once when it is free,
        else intake's turn waited for on the loop (urgent, ahead of background work's),
        which goes on reading requests meanwhile. It once went to a thread to wait and
        store there: a hop, and SQLite's calls made on a thread that takes the GIL back
        from the busy loop after each (0.4 s of CPU in 12 s of a burst beside the worker)."""
        loop = asyncio.get_running_loop()
        granted = loop.create_future()

        def notify() -> None:  # on the releasing thread
            try:
                loop.call_soon_threadsafe(lambda: granted.done() or granted.set_result(True))
            except RuntimeError:  # the loop has closed: nobody is left to store; given back
                lock.release()

        waiter = lock.acquire_or_queue(notify, urgent=True)
        if waiter is True:
            return True
        try:
            async with asyncio.timeout(WRITE_LOCK_WAIT):
                await granted
            return True
        except BaseException as exc:
            if lock.withdraw(waiter):
                lock.release()  # handed over meanwhile: given back
            if isinstance(exc, TimeoutError):
                return False  # the thread's path waits for it, and says so if it cannot
            raise

    def _store_alone(self, delivery: NewDelivery) -> Union[bool, BaseException]:
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._store_together([delivery])[0]
            except Exception as exc:
                if attempt == STORE_ATTEMPTS or not (isinstance(exc, DBAPIError) and try_again(exc)):
                    log.error("could not store delivery %s (%s.%s): %s", delivery.delivery_id, delivery.event, delivery.action, type(exc).__name__)
                    return exc
        raise AssertionError("unreachable")

    async def store(self, delivery: NewDelivery) -> bool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue))
        future: asyncio.Future = loop.create_future()
        await self._queue.put((delivery, future))
        return await future

    async def _run(self, queue: asyncio.Queue) -> None:
        slots = asyncio.Semaphore(self.parallel)
        while True:
            # A slot first, then the batch: it takes in whatever arrived while every
            # slot was busy (group commit).
            await slots.acquire()
            try:
                batch = [await queue.get()]
            except BaseException:
                slots.release()
                raise
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            if self.parallel == 1:
                await self._store_and_answer(batch, slots)
            else:
                task = asyncio.get_running_loop().create_task(self._store_and_answer(batch, slots))
                self._in_flight.add(task)  # held until done: the loop keeps only a weak reference
                task.add_done_callback(self._in_flight.discard)

    async def _store_and_answer(self, batch: list, slots: asyncio.Semaphore) -> None:
        try:
            # A delivery id twice in one batch: the second is a duplicate.
            try:
                deliveries = [d for d, _ in batch]
                results = await self._store_on_loop(deliveries)
                if results is None:
                    if self._threads is None:
                        self._threads = ThreadPoolExecutor(self.parallel, thread_name_prefix="devex-intake")
                    loop = asyncio.get_running_loop()
                    results = await loop.run_in_executor(self._threads, self._store_batch, deliveries)
            except Exception as exc:  # pragma: no cover - _store_batch answers for each
                results = [exc] * len(batch)
        finally:
            slots.release()
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed and len(failed) == len(batch):
            log.error("could not store %d deliveries: %s", len(batch), type(failed[0]).__name__)
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class IntakeApp(Starlette):
    """A Starlette app whose `POST /webhooks` goes straight to the raw endpoint.

    The route stays in the routing table (a GET gets its 405, and the routes
    others add sit beside it), but a POST to it skips Starlette's middleware and
    router: intake's whole cost per request is then the endpoint's own.
    """

    def __init__(self, webhooks: WebhookEndpoint, **kwargs):
        super().__init__(**kwargs)
        self.webhooks = webhooks
        self._others = super().__call__

    def behind_proxy(self, trusted_hosts) -> None:
        """The board, the desk and `/healthz` read `X-Forwarded-Proto` and `-For` from
        `trusted_hosts` (uvicorn's own middleware, as `devex-bot serve` had it around
        the whole app); intake reads neither, so its requests skip it (issue 18)."""
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        self._others = ProxyHeadersMiddleware(super().__call__, trusted_hosts=trusted_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/webhooks" and scope["method"] == "POST":
            await self.webhooks(scope, receive, send)
            return
        await self._others(scope, receive, send)


def create_app(
    engine: Engine,
    webhook_secret: bytes,
    router: Router,
    *,
    lifespan=None,
    clock: Callable[[], datetime] = utcnow,
    activity: Optional[IntakeActivity] = None,
    body_timeout: float = 30.0,
    routes: Optional[list] = None,
) -> Starlette:
    """The web app: `POST /webhooks` (raw ASGI), `GET /healthz`, then `routes`
    (more can be added with `app.router.routes.extend`)."""
    writer = IntakeWriter(engine, clock)
    webhooks = WebhookEndpoint(writer.store, webhook_secret, router, activity or IntakeActivity(), body_timeout)

    async def healthz(request: Request) -> Response:
        healthy = await anyio.to_thread.run_sync(ping, engine)
        return JSONResponse({"database": "ok" if healthy else "unreachable"}, status_code=200 if healthy else 503)

    return IntakeApp(
        webhooks,
        routes=[Route("/webhooks", webhooks, methods=["POST"]), Route("/healthz", healthz, methods=["GET"]), *(routes or [])],
        lifespan=lifespan,
    )
