"""The helper process of bot/pipeline/walsync.py: `python -I -S walflush_helper.py DATABASE-wal`.

Reads a byte for each flush asked for, flushes the file once for all it read
(each was asked for after its commit was written), and answers a byte for each:
"k" flushed, "e" not. It ends when its input closes (the web process has ended,
however it ended). It imports nothing of the bot's, and ignores Ctrl-C: the web
process it serves decides when it ends.
"""

import os
import signal
import sys


def main(path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            asked = os.read(0, 65536)
        except InterruptedError:
            continue
        if not asked:
            return
        answer = b"k"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)
        except OSError:
            answer = b"e"
        os.write(1, answer * len(asked))


if __name__ == "__main__":
    main(sys.argv[1])
