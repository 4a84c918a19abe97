"""SQLite intake's writer process (bot/pipeline/intake_sqlite.py, issue 18): a batch is
stored by a helper process while the event loop goes on answering, each delivery
answered only once the helper has committed it to the disk, with the web process's
write lock held for it; a helper that is stopped, killed or cannot store the batch
never loses a delivery nor answers one before it is stored."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pytest

from bot.pipeline.intake import create_app
from bot.runtime import ROUTER
from tests.conftest import SECRET
from tests.test_intake_loop import _bid, _committed, _hold_write_lock, _stored

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _writer(app):
    return app.webhooks.store.__self__


async def _post(client, body, headers) -> httpx.Response:
    return await client.post("/webhooks", content=body, headers=headers)


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://devex.test")


def _started(app) -> int:
    """One delivery stored (which starts the helper); the helper's pid."""

    async def one():
        async with _client(app) as client:
            body, headers = _bid(100)
            assert (await _post(client, body, headers)).status_code == 202

    asyncio.run(one())
    pid = _writer(app)._helper.pid
    assert pid is not None and pid != os.getpid()
    return pid


async def _posted_while_stopped(client, pid: int, body, headers, wait: float) -> asyncio.Future:
    """The helper stopped (SIGSTOP: it cannot store until it is let go), a delivery posted,
    and `wait` seconds let pass: its answer, still to come."""
    os.kill(pid, signal.SIGSTOP)
    answer = asyncio.ensure_future(_post(client, body, headers))
    await asyncio.sleep(wait)
    return answer


def test_a_delivery_is_answered_once_the_helper_has_committed_it_and_the_loop_answers_meanwhile(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    pid = _started(app)
    body, headers = _bid(2)

    async def go():
        async with _client(app) as client:
            try:
                answer = await _posted_while_stopped(client, pid, body, headers, 0.5)
                other = await client.get("/webhooks")  # the loop is not waiting for the helper
                waiting = not answer.done()
                committed = _committed(engine, headers["X-GitHub-Delivery"])
                lock_held = not engine.devex_write_lock.acquire(timeout=0)
            finally:
                os.kill(pid, signal.SIGCONT)
            return other, waiting, committed, lock_held, await asyncio.wait_for(answer, 10)

    other, waiting, committed, lock_held, answer = asyncio.run(go())
    assert other.status_code == 405
    assert waiting and not committed  # no answer before the commit
    assert lock_held  # the process's writers wait while the helper stores
    assert answer.status_code == 202 and answer.json() == {"stored": True, "duplicate": False}
    assert _committed(engine, headers["X-GitHub-Delivery"])
    assert engine.devex_write_lock.acquire(timeout=0)  # given back
    engine.devex_write_lock.release()
    assert _stored(engine) == 2


def test_a_batch_whose_helper_is_killed_in_the_middle_is_stored_here_and_intake_goes_on(engine):
    app = create_app(engine, SECRET.encode(), ROUTER)
    pid = _started(app)
    body, headers = _bid(2)

    async def go():
        async with _client(app) as client:
            answer = await _posted_while_stopped(client, pid, body, headers, 0.3)
            assert not answer.done()
            os.kill(pid, signal.SIGKILL)  # with the batch in its hands
            first = await asyncio.wait_for(answer, 10)
            bids = [_bid(n) for n in range(3, 13)]
            later = await asyncio.gather(*(_post(client, b, h) for b, h in bids))
            return first, [(a.status_code, _committed(engine, h["X-GitHub-Delivery"])) for a, (_, h) in zip(later, bids)]

    first, later = asyncio.run(go())
    assert first.status_code == 202 and _committed(engine, headers["X-GitHub-Delivery"])
    assert later == [(202, True)] * 10
    assert _writer(app)._helper.broken  # not asked again: intake stores on its own thread
    assert _stored(engine) == 12


def test_a_batch_the_helper_cannot_store_is_stored_here(engine, tmp_path):
    app = create_app(engine, SECRET.encode(), ROUTER)
    _writer(app)._helper.path = str(tmp_path / "elsewhere.db")  # a database without the inbox's table
    body, headers = _bid(1)

    async def go():
        async with _client(app) as client:
            return await _post(client, body, headers)

    answer = asyncio.run(go())
    assert answer.status_code == 202 and answer.json() == {"stored": True, "duplicate": False}
    assert _committed(engine, headers["X-GitHub-Delivery"])
    assert not _writer(app)._helper.broken  # it answered: it is asked again next time


def test_a_batch_waits_for_the_write_lock_on_the_loop_when_the_worker_holds_it(engine):
    """The helper stores only with the process's write lock; while another thread holds
    it, the batch waits for its turn on the loop (the loop goes on meanwhile), and the
    helper stores it: no thread of intake's is started for it."""
    app = create_app(engine, SECRET.encode(), ROUTER)
    _started(app)
    taken = threading.Event()
    holder = _hold_write_lock(engine, 0.8, taken)
    assert taken.wait(5)
    released_at = time.monotonic() + 0.8
    body, headers = _bid(2)

    async def go():
        async with _client(app) as client:
            answer = await _post(client, body, headers)
            return answer, time.monotonic()

    answer, answered_at = asyncio.run(go())
    holder.join()
    assert answer.status_code == 202 and answered_at >= released_at - 0.3
    assert _stored(engine) == 2
    assert _writer(app)._threads is None and not _writer(app)._helper.broken


def test_the_write_lock_hands_a_queued_turn_over_by_telling_its_waiter(engine):
    """The turn an event loop queues for (it must not block): the holder's release hands
    it over and calls the waiter's notify; a turn given up before then is skipped."""
    lock = engine.devex_write_lock
    told = []
    assert lock.acquire_or_queue(lambda: told.append("free"), urgent=True) is True  # free: taken
    waiter = lock.acquire_or_queue(lambda: told.append("granted"), urgent=True)
    assert waiter is not True and told == []
    lock.release()
    assert told == ["granted"] and waiter.granted
    assert not lock.acquire(timeout=0)  # handed over: still held, by the waiter now
    given_up = lock.acquire_or_queue(lambda: told.append("never"), urgent=False)
    assert lock.withdraw(given_up) is False
    lock.release()
    assert told == ["granted"]  # the withdrawn turn was skipped, not told
    assert lock.acquire(timeout=0)  # and the lock is free
    lock.release()


def _large_bid(number: int) -> tuple[bytes, dict]:
    """A bid of more than 15 KB, as a proposal with its text comes (bench's are 14.6 KB)."""
    import json

    from tests.conftest import sign

    body, headers = _bid(number)
    data = json.loads(body)
    data["comment"]["body"] = "/bid 5000\n" + "I will do it, and here is how. " * 500
    body = json.dumps(data).encode()
    return body, {**headers, "X-Hub-Signature-256": sign(body, SECRET)}


def test_a_batch_of_large_deliveries_goes_to_the_helper_whole_in_one_write(engine):
    """Eight deliveries of more than 15 KB each (together well past a pipe's usual 64 KB)
    are in the pipe to the helper whole while it cannot read (stopped): nothing is left for the loop to write
    later, when it is busy with requests; once let go, the helper stores all eight."""
    app = create_app(engine, SECRET.encode(), ROUTER)
    pid = _started(app)
    helper = _writer(app)._helper
    bids = [_large_bid(n) for n in range(8)]
    assert all(len(body) > 15_000 for body, _ in bids)

    async def go():
        async with _client(app) as client:
            os.kill(pid, signal.SIGSTOP)
            try:
                answers = [asyncio.ensure_future(_post(client, body, headers)) for body, headers in bids]
                deadline = time.monotonic() + 10
                while len(helper._waiting) == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)  # the batch sent (or being sent) to the helper
                await asyncio.sleep(0.2)
                sent = len(helper._waiting)
                queued = _writer(app)._queue.qsize()  # deliveries not yet in a batch sent
                left_to_write = len(helper._out)
            finally:
                os.kill(pid, signal.SIGCONT)
            return sent, queued, left_to_write, [await asyncio.wait_for(answer, 10) for answer in answers]

    sent, queued, left_to_write, answers = asyncio.run(go())
    import fcntl

    from bot.pipeline.intake_sqlite import PIPE_SIZE

    assert fcntl.fcntl(helper._ask, fcntl.F_GETPIPE_SZ) >= PIPE_SIZE
    # All eight sent to the helper (more than 120 KB), none left waiting in intake's queue.
    assert sent >= 1 and queued == 0
    assert left_to_write == 0, f"{left_to_write} bytes of the batch waited for the loop to write them"
    assert [answer.status_code for answer in answers] == [202] * 8
    assert _stored(engine) == 1 + 8


def _files_made_in(folder: str):
    """An inotify watch on `folder` (Linux): a function that says whether any file was
    made there since, even one deleted at once (as SQLite deletes its temporary files)."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    in_create, in_nonblock = 0x100, os.O_NONBLOCK
    watch = libc.inotify_init1(in_nonblock)
    assert watch >= 0 and libc.inotify_add_watch(watch, folder.encode(), in_create) >= 0, os.strerror(ctypes.get_errno())

    def made() -> bool:
        try:
            return bool(os.read(watch, 65536))
        except BlockingIOError:
            return False
        finally:
            os.close(watch)

    return made


def _filled(engine, deliveries: int) -> None:
    """`deliveries` of 14.6 KB stored straight in the database, eight a statement, as the
    helper stores them (a statement's journal past 64 KB came only once the table held
    a few thousand: then about every other batch of eight)."""
    import sqlite3
    import uuid

    from storage import inbox
    from storage.inbox import NewDelivery

    connection = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # filling, not what is measured
        connection.execute("BEGIN IMMEDIATE")
        for _ in range(deliveries // 8):
            batch = [NewDelivery(str(uuid.uuid4()), "issue_comment", "created", 1, "a/b", "a/b#1", "x" * 14_600) for _ in range(8)]
            list(connection.execute(*inbox.store_statement(engine.dialect, batch)))
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_a_batch_of_large_deliveries_is_stored_without_a_temporary_file(engine, tmp_path, monkeypatch):
    """The helper's insert of a batch keeps its statement journal in memory: with the
    inbox holding a few thousand deliveries, about every other batch of eight spilled its
    journal past 64 KB to a file in SQLite's temporary folder, made and deleted (a fifth
    of the helper's CPU); now no batch makes a file, and the helper stores every one."""
    folder = tmp_path / "sqlite-temporary"
    folder.mkdir()
    monkeypatch.setenv("SQLITE_TMPDIR", str(folder))  # where SQLite makes its temporary files
    _filled(engine, 4000)
    app = create_app(engine, SECRET.encode(), ROUTER)
    _started(app)
    before = _stored(engine)
    made = _files_made_in(str(folder))

    async def go():
        async with _client(app) as client:
            answers = []
            for round_ in range(12):
                bids = [_large_bid(1000 + round_ * 8 + n) for n in range(8)]
                answers += await asyncio.gather(*(_post(client, body, headers) for body, headers in bids))
            return answers

    answers = asyncio.run(go())
    assert [answer.status_code for answer in answers] == [202] * 96
    assert _stored(engine) == before + 96
    assert _writer(app)._threads is None and not _writer(app)._helper.broken  # stored by the helper
    assert not made(), "the helper made a temporary file for a batch"
