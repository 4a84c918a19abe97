"""The writer process of bot/pipeline/intake_sqlite.py:
`python -I intake_sqlite_helper.py DATABASE`.

It stores the batches the web process sends it, one at a time, each in one
transaction committed with `synchronous=FULL` (on the disk before it answers),
and answers each with the delivery ids the insert returned, or with why it
could not. The web process holds its write lock for it meanwhile. A frame is
a 4-byte little-endian length and a `marshal` of the same Python's values:
in `(sql, parameters, checkpointer_runs)`, out `("ok", ids)` or
`("error", why)`. It ends when its input closes (the web process has ended,
however it ended); it imports nothing of the bot's and ignores Ctrl-C: the
web process it serves decides when it ends.
"""

import marshal
import os
import signal
import sqlite3
import struct
import sys

_LENGTH = struct.Struct("<I")


def _read_exactly(n: int):
    parts, left = [], n
    while left:
        try:
            part = os.read(0, left)
        except InterruptedError:
            continue
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(1, view)
        except InterruptedError:
            continue
        view = view[written:]


def _store(connection: sqlite3.Connection, sql: str, parameters: tuple) -> list:
    connection.execute("BEGIN IMMEDIATE")
    try:
        ids = [row[0] for row in connection.execute(sql, parameters)]
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return ids


def main(path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    # As the web process's own connections (storage/db.py, make_engine).
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # on the disk before the answer
    connection.execute("PRAGMA foreign_keys=ON")  # (the busy timeout: connect's, 30 s)
    # A statement inside BEGIN keeps a journal to undo that statement alone, which SQLite
    # spills to a temporary file past 64 KB: with a few thousand deliveries stored, about
    # every other batch of eight made, wrote and deleted one (a fifth of this process's CPU;
    # docs/benchmarks.md, issue 18, twelfth pass). In memory: no file. It is never read
    # after a crash (the WAL is): what a commit makes durable, and when, is unchanged.
    connection.execute("PRAGMA temp_store=MEMORY")
    autocheckpoint = True
    while True:
        header = _read_exactly(_LENGTH.size)
        if header is None:
            return
        frame = _read_exactly(_LENGTH.unpack(header)[0])
        if frame is None:
            return
        try:
            sql, parameters, checkpointer_runs = marshal.loads(frame)
            if autocheckpoint == bool(checkpointer_runs):
                # While the web process's Checkpointer runs, no commit copies the WAL back.
                autocheckpoint = not checkpointer_runs
                connection.execute(f"PRAGMA wal_autocheckpoint={1000 if autocheckpoint else 0}")
            answer = ("ok", _store(connection, sql, parameters))
        except Exception as error:
            answer = ("error", f"{type(error).__name__}: {error}"[:500])
        out = marshal.dumps(answer)
        _write(_LENGTH.pack(len(out)) + out)


if __name__ == "__main__":
    main(sys.argv[1])
