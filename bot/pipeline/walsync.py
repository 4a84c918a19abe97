"""SQLite intake's disk flush, made by a small process of its own while the event loop goes on.

A batch of deliveries is committed on the event loop's thread in about 0.2 ms,
then the commit waits about 0.4 ms for the disk (`synchronous=FULL`), during
which the loop can read no request: on a machine of two cores that wait was a
fifth of intake's time (docs/benchmarks.md, issue 18, sixth pass). A thread
cannot take it over: its answer needs the interpreter's lock back from the busy
loop, and waited for it longer than the flush took (fourth pass, tried and
dropped).

So intake commits its batch without the wait (SQLite's `synchronous=NORMAL` in
WAL mode: the batch is in the log, in the system's cache), then asks this
helper to flush the log file to the disk (`fdatasync`), and answers GitHub
only when the helper says it is done. The helper is a second Python process
(`python -I -S bot/pipeline/walflush_helper.py`, a few MB) that does only that; its answer arrives on a pipe
the loop watches, as a request would. What a flush makes durable is every
commit written to the log before it began (the log is one file, written in
order), so a delivery is still on the disk before its 2xx. A checkpoint that
copies the log back into the database syncs the log first and the database
after (`synchronous=FULL` on the checkpointer's connection), so a commit the
log no longer holds is durable in the database file.

If the helper cannot be started, dies, or cannot flush the file, the flush is
made on the loop's own thread, as before; nothing is answered before it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import subprocess
import sys
import weakref
from typing import Optional

log = logging.getLogger(__name__)

# The helper (its own file, run by path: it imports nothing of the bot's).
_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "walflush_helper.py")


def flush_here(path: str) -> None:
    """The flush on the caller's thread (the fallback): raises OSError when it cannot be made."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _close(process: subprocess.Popen, ask: int, answers: int) -> None:
    for fd in (ask, answers):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        process.wait(timeout=2)  # it ends when its input closes
    except Exception:  # pragma: no cover - a helper that does not end
        process.kill()


class WalFlusher:
    """Flushes SQLite's log file (`DATABASE-wal`) to the disk in a helper process."""

    def __init__(self, database_path: str):
        self.path = os.path.abspath(database_path) + "-wal"  # the helper resolves nothing itself
        self._process: Optional[subprocess.Popen] = None
        self._ask = -1
        self._answers = -1
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._waiting: collections.deque = collections.deque()
        self._broken = False
        self._finalizer = None

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    def _start(self) -> bool:
        if self._broken:
            return False
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-S", _HELPER, self.path],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    close_fds=True,
                )
            except OSError as error:
                log.warning("the WAL flush helper could not be started (%s): intake flushes on its own thread", error)
                self._broken = True
                return False
            # The pipes' own descriptors, kept from the file objects (which would close them).
            self._ask = os.dup(self._process.stdin.fileno())
            self._answers = os.dup(self._process.stdout.fileno())
            self._process.stdin.close()
            self._process.stdout.close()
            os.set_blocking(self._answers, False)
            self._finalizer = weakref.finalize(self, _close, self._process, self._ask, self._answers)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and not self._loop.is_closed():
                try:
                    self._loop.remove_reader(self._answers)
                except Exception:  # pragma: no cover
                    pass
            self._waiting.clear()  # futures of a loop that is gone: nobody awaits them
            loop.add_reader(self._answers, self._on_answers)
            self._loop = loop
        return True

    def _on_answers(self) -> None:
        try:
            answers = os.read(self._answers, 65536)
        except BlockingIOError:
            return
        except OSError:
            answers = b""
        if not answers:
            self._give_up("the WAL flush helper ended")
            return
        for answer in answers:
            if not self._waiting:
                break
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(answer == ord("k"))

    def _give_up(self, why: str) -> None:
        log.warning("%s: intake flushes on its own thread from now on", why)
        self._broken = True
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self._answers)
            except Exception:  # pragma: no cover
                pass
        waiting, self._waiting = self._waiting, collections.deque()
        for future in waiting:
            if not future.done():
                future.set_result(False)
        if self._finalizer is not None:
            self._finalizer()

    async def flush(self) -> None:
        """Returns once the log is on the disk, as of a flush begun after this call:
        by the helper, or here when it cannot. Raises OSError when neither can."""
        if self._start():
            future = asyncio.get_running_loop().create_future()
            try:
                os.write(self._ask, b"s")
            except OSError as error:
                self._give_up(f"the WAL flush helper could not be asked ({error})")
            else:
                self._waiting.append(future)
                if await future:
                    return
        flush_here(self.path)

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
