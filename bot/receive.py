"""`devex-bot receive EVENT FILE [--dry-run]`: one webhook payload from a file, as Probot's `receive`.

It says the truth: a file it cannot read, that is not UTF-8 JSON, or whose
handling failed (GitHub refused the app's credentials, could not be reached,
refused a write) ends with one line saying so and a non-zero exit. `--dry-run`
prints the GitHub calls instead of making them and leaves the database exactly
as it was: everything it does, migrations included, happens inside one
transaction that is rolled back at the end.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bot.settings import Settings

# How long `receive` waits for the writes a delivery owes (paced 1 s apart).
SEND_TIMEOUT = 120.0


class ReceiveFailed(SystemExit):
    """One line for the operator, exit status 1."""

    def __init__(self, message: str):
        super().__init__("devex-bot receive: " + " ".join(message.split())[:500])


def receive(settings: Settings, event: str, file: str, *, dry_run: bool, delivery_id: Optional[str]) -> int:
    from bot.runtime import ROUTER
    from bot.pipeline.delivery import PayloadError, delivery_from, read_payload
    from storage.db import make_engine

    try:
        body = Path(file).read_bytes()
    except OSError as error:
        raise ReceiveFailed(f"cannot read {file}: {error.strerror or error}") from None
    try:
        payload = read_payload(body)
    except PayloadError as problem:
        raise ReceiveFailed(f"{file}: {problem}") from None
    if not isinstance(payload, dict):
        raise ReceiveFailed(f"{file}: not a JSON object")
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if not ROUTER.handles(event, action, payload):
        print(f"{event}.{action or ''}: not handled by devex-bot (ignored)")
        return 0
    try:
        delivery = delivery_from(delivery_id or f"receive-{uuid.uuid4()}", event, action, payload, body)
    except (PayloadError, AttributeError, TypeError, KeyError) as problem:
        raise ReceiveFailed(f"{file}: not a {event} delivery ({problem})") from None
    engine = make_engine(settings.database_url)
    try:
        if dry_run:
            return _dry_run(settings, engine, delivery)
        return _for_real(settings, engine, delivery)
    finally:
        engine.dispose()


def _dry_run(settings: Settings, engine: Engine, delivery) -> int:
    from bot.github.client import DryRunGitHub
    from storage.migrate import upgrade_connection

    dry = DryRunGitHub()
    # Nothing reaches GitHub: no pacing to keep.
    settings = settings.model_copy(update={"write_interval": 0.0})
    with engine.connect() as connection:
        outer = connection.begin()
        # Inside a savepoint, every session of the worker and the sender makes its own
        # savepoint: their commits end those, and the outer rollback undoes them all.
        connection.begin_nested()
        try:
            upgrade_connection(connection)
            _handle(settings, connection, delivery, dry.call, dry_run=True)
        finally:
            outer.rollback()
    return 0


def _for_real(settings: Settings, engine: Engine, delivery) -> int:
    from storage.migrate import upgrade

    upgrade(engine)
    _handle(settings, engine, delivery, None, dry_run=False)
    return 0


def _handle(settings: Settings, bind, delivery, github_call, *, dry_run: bool) -> None:
    from bot.runtime import build
    from storage import inbox

    runtime = build(settings, engine=bind, github_call=github_call)
    with Session(bind) as session:
        stored = inbox.store(session, delivery)
        session.commit()
    if not stored:
        print(f"delivery {delivery.delivery_id} was received before: nothing to do")
        return
    handled = runtime.worker.drain()
    with Session(bind) as session:
        row = inbox.find(session, delivery.delivery_id)
        status, error = (row.status, row.last_error) if row is not None else ("missing", None)
    what = f"{delivery.event}.{delivery.action or ''}"
    if status not in ("done", "ignored"):
        raise ReceiveFailed(f"{what}: handling failed: {error or status} (the delivery is kept; `devex-bot serve` or `worker` tries it again)")
    if runtime.sender is not None:
        _send(runtime, bind, delivery.delivery_id)
    elif not dry_run:
        print("GITHUB_APP_ID or the private key is missing: the GitHub writes are kept, not sent")
    print(f"{what}: {handled} delivery handled" + (" (dry run: the GitHub calls above were not made)" if dry_run else ""))


def _send(runtime, bind: Engine | Connection, delivery_id: str) -> None:
    """Every write owed, paced as usual; a write GitHub failed or refused ends it with one line."""
    from storage import outbox

    deadline = time.monotonic() + SEND_TIMEOUT
    while True:
        if runtime.sender.run_once():
            continue
        with Session(bind) as session:
            unsent = outbox.unsent(session)
        refused = [w for w in unsent if w.status == "refused" and w.delivery_id == delivery_id]
        failed = [w for w in unsent if w.status == "pending" and w.last_error]
        if refused or failed:
            write = (refused or failed)[0]
            verdict = "refused" if refused else "not taken (kept: `devex-bot serve` or `worker` sends it later)"
            raise ReceiveFailed(f"a GitHub write was {verdict}: {write.method or write.kind} {write.path or ''}: {write.last_error}")
        if not [w for w in unsent if w.status == "pending"]:
            return
        if time.monotonic() > deadline:
            raise ReceiveFailed(f"{len(unsent) - len(refused)} GitHub write(s) still waiting after {SEND_TIMEOUT:.0f}s (kept)")
        time.sleep(0.02)  # the next one is due after the write interval
