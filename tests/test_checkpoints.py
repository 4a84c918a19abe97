"""SQLite's WAL checkpoints run beside intake, not inside its commits (storage.db.Checkpointer):
while the checkpointer runs, no commit copies the WAL back, yet the WAL does not grow
without bound, and every delivery stored is in the database once it stops."""

from __future__ import annotations

import os
import threading

import sqlalchemy as sa

from bot.pipeline.intake import IntakeWriter
from storage.db import Checkpointer, make_engine
from storage.inbox import NewDelivery
from storage.migrate import upgrade


def _batch(start: int, size: int = 20) -> list[NewDelivery]:
    payload = '{"zen": "' + "x" * 15_000 + '"}'  # the size of a /bid delivery
    return [NewDelivery(f"d-{i}", "ping", None, None, None, f"delivery:d-{i}", payload) for i in range(start, start + size)]


def test_the_wal_is_copied_back_beside_intake_and_stays_small(tmp_path):
    path = tmp_path / "devex.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    stop = threading.Event()
    checkpointer = Checkpointer(engine, interval=0.01)
    thread = threading.Thread(target=checkpointer.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        writer = IntakeWriter(engine)
        largest = 0
        for n in range(0, 3000, 20):  # 45 MB of deliveries
            assert writer._store_batch(_batch(n)) == [True] * 20
            largest = max(largest, os.path.getsize(f"{path}-wal"))
        with engine.connect() as connection:
            # The commits themselves do no checkpoint while it runs.
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    # SQLite's own checkpoints would keep it near 4 MB; without any it would hold all 45 MB.
    assert largest < 16 * 1024 * 1024, largest
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM deliveries")).scalar() == 3000
        # Once it stops, commits checkpoint again as SQLite does by default.
        connection.execute(sa.text("SELECT 1"))
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM deliveries WHERE delivery_id = 'd-0'"))
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
