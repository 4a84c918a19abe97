"""SQLite intake's batches stored by a writer process of its own, while the event loop goes on.

On SQLite a batch of deliveries was stored on the event loop's own thread: the
insert and the commit took about 0.25 ms of the loop for a batch of eight, and
the commit's wait for the disk (`synchronous=FULL`) 0.4 ms more, during which
the loop could read no request: together a third of intake's time on a
machine of two cores (docs/benchmarks.md, issue 18, sixth pass). A thread
cannot take that over: its answer needs the interpreter's lock back from the
busy loop, which cost more than it saved (second and fourth passes).

So the batch goes to a second Python process (`intake_sqlite_helper.py`, run
with `python -I`, 14 to 18 MB) that does only that: it inserts the batch with
the same statement, commits it with `synchronous=FULL`, and answers with the
delivery ids stored; the answer arrives on a pipe the loop watches, as a
request would, and only then are the batch's deliveries answered. Meanwhile
the loop reads and checks the next requests. The web process's write lock
(`storage.db`) is taken on the loop for the helper's transaction: at once, or
intake's turn waited for on the loop (ahead of background work's; the releasing
thread tells the loop), and no writer of the web process (the worker, the
sender, the checkpointer's last step) in the middle of it.

If the helper cannot be started, dies, answers that it could not store the
batch, or does not answer within `TIMEOUT` (it is then killed, so that its
transaction is over), the batch is stored by the web process itself, as
before: what the helper may have committed is then a duplicate, answered 200.
After a helper has died, intake stores on the event loop's thread from then on.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import marshal
import os
import struct
import subprocess
import sys
import weakref
from typing import Optional

log = logging.getLogger(__name__)

_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "intake_sqlite_helper.py")
_LENGTH = struct.Struct("<I")
# Longer than the helper's own busy timeout (30 s): it answers before this, whatever the database does.
TIMEOUT = 40.0


# The pipe to the helper holds a batch whole: with the usual 64 KB, a batch of eight
# 15 KB deliveries went in two writes, the second when the loop, busy with requests,
# came back to it (docs/benchmarks.md, issue 18, eleventh pass).
PIPE_SIZE = 1 << 20


def _widen(descriptor: int) -> None:
    """The pipe's buffer made PIPE_SIZE where the system allows (Linux), else left as it is."""
    try:
        fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (AttributeError, OSError):  # not Linux, or more than /proc/sys/fs/pipe-max-size
        pass


class HelperFailed(Exception):
    """The writer process did not store the batch (said why, died, or did not answer)."""


def _end(process: subprocess.Popen, ask: int, answers: int) -> None:
    for fd in (ask, answers):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        process.wait(timeout=5)  # it ends when its input closes
    except Exception:  # pragma: no cover - a helper that does not end
        process.kill()


class SqliteWriterProcess:
    """Stores SQLite intake's batches in a helper process (one batch at a time)."""

    def __init__(self, database_path: str):
        self.path = os.path.abspath(database_path)  # the helper resolves nothing itself
        self._process: Optional[subprocess.Popen] = None
        self._ask = -1
        self._answers = -1
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._out = bytearray()
        self._in = bytearray()
        self._waiting: collections.deque = collections.deque()
        self._finalizer = None
        self.broken = False

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._process = subprocess.Popen([sys.executable, "-I", _HELPER, self.path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        # The pipes' own descriptors, kept from the file objects (which would close them).
        self._ask = os.dup(self._process.stdin.fileno())
        self._answers = os.dup(self._process.stdout.fileno())
        self._process.stdin.close()
        self._process.stdout.close()
        os.set_blocking(self._ask, False)
        os.set_blocking(self._answers, False)
        _widen(self._ask)
        self._finalizer = weakref.finalize(self, _end, self._process, self._ask, self._answers)
        loop.add_reader(self._answers, self._on_answers)
        self._loop = loop

    def _stop(self, why: str, kill: bool = False) -> None:
        """The helper ended for good; what waits for it is told it failed."""
        if self.broken:
            return
        log.warning("intake's SQLite writer process: %s; intake stores on the event loop's thread from now on", why)
        self.broken = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._answers)
            self._loop.remove_writer(self._ask)
        if kill and self._process is not None:
            self._process.kill()
            self._process.wait()  # its transaction, if any, is over
        waiting, self._waiting = self._waiting, collections.deque()
        for future in waiting:
            if not future.done():
                future.set_exception(HelperFailed(why))
        if self._finalizer is not None:
            self._finalizer()

    def _ready(self) -> bool:
        if self.broken:
            return False
        loop = asyncio.get_running_loop()
        if self._process is None:
            try:
                self._start(loop)
            except OSError as error:
                self._stop(f"could not be started ({error})")
                return False
        elif self._loop is not loop:
            if self._waiting or self._out or self._in:  # pragma: no cover - a loop left mid-batch
                self._stop("its event loop ended in the middle of a batch", kill=True)
                return False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._answers)
            loop.add_reader(self._answers, self._on_answers)
            self._loop = loop
        return True

    async def store(self, sql: str, parameters: tuple, checkpointer_runs: bool) -> list:
        """The delivery ids the helper's insert returned, once committed on the disk;
        raises HelperFailed when it did not store the batch (or may not have)."""
        if not self._ready():
            raise HelperFailed("not running")
        frame = marshal.dumps((sql, parameters, checkpointer_runs))
        future = self._loop.create_future()
        self._waiting.append(future)
        self._send(_LENGTH.pack(len(frame)) + frame)
        try:
            async with asyncio.timeout(TIMEOUT):
                answer, detail = await future
        except TimeoutError:
            self._stop(f"no answer within {TIMEOUT:.0f} s", kill=True)
            raise HelperFailed("no answer") from None
        if answer != "ok":
            raise HelperFailed(detail)
        return detail

    def _send(self, data: bytes) -> None:
        if not self._out:
            try:
                written = os.write(self._ask, data)
            except BlockingIOError:
                written = 0
            except OSError as error:
                self._stop(f"could not be written to ({error})")
                return
            if written == len(data):
                return
            self._out += data[written:]
            self._loop.add_writer(self._ask, self._on_writable)
        else:
            self._out += data

    def _on_writable(self) -> None:
        try:
            written = os.write(self._ask, self._out)
        except BlockingIOError:
            return
        except OSError as error:
            self._stop(f"could not be written to ({error})")
            return
        del self._out[:written]
        if not self._out:
            self._loop.remove_writer(self._ask)

    def _on_answers(self) -> None:
        try:
            data = os.read(self._answers, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop("ended")
            return
        self._in += data
        while len(self._in) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._in)
            if len(self._in) < _LENGTH.size + length:
                break
            answer = marshal.loads(bytes(self._in[_LENGTH.size : _LENGTH.size + length]))
            del self._in[: _LENGTH.size + length]
            if self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(answer)
