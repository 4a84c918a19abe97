"""`devex-bot`: serve, worker, migrate, receive, demo, export."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Optional

from bot.settings import Settings

log = logging.getLogger("devex_bot")


def _settings() -> Settings:
    return Settings()


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current, upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"database schema at revision {current(engine)}")
    return 0


def _check_schema(engine) -> None:
    from storage.migrate import current

    if current(engine) is None:
        raise SystemExit("the database has no schema yet: run `devex-bot migrate` first")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.logs import configure
    from bot.runtime import build

    settings = _settings()
    configure(settings.log_level)
    if not settings.github_webhook_secret:
        raise SystemExit("GITHUB_WEBHOOK_SECRET is not set: every delivery would be refused")
    runtime = build(settings)
    _check_schema(runtime.engine)
    if runtime.sender is None:
        log.warning("GITHUB_APP_ID or the private key is missing: deliveries are stored and handled, nothing is written to GitHub")
    background = not args.no_worker
    app = runtime.app(background=background)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level=settings.log_level.lower(), access_log=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from bot.logs import configure
    from bot.runtime import build

    settings = _settings()
    configure(settings.log_level)
    runtime = build(settings)
    _check_schema(runtime.engine)
    runtime.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    runtime.shutdown()
    return 0


def cmd_receive(args: argparse.Namespace) -> int:
    """Handles one payload from a file, as Probot's `receive` does."""
    from sqlmodel import Session

    from bot.github.client import DryRunGitHub
    from bot.runtime import ROUTER
    from bot.pipeline.delivery import delivery_from
    from bot.logs import configure
    from bot.runtime import build
    from storage import inbox
    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings()
    configure(settings.log_level)
    body = Path(args.file).read_bytes()
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise SystemExit(f"{args.file}: not a JSON object")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    dry = DryRunGitHub() if args.dry_run else None
    if dry:
        # Nothing reaches GitHub: no pacing to keep.
        settings = settings.model_copy(update={"write_interval": 0.0})
    runtime = build(settings, engine=engine, github_call=dry.call if dry else None)
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if not ROUTER.handles(args.event, action, payload):
        print(f"{args.event}.{action or ''}: not handled by devex-bot (ignored)")
        return 0
    delivery = delivery_from(args.delivery_id or f"receive-{uuid.uuid4()}", args.event, action, payload, body)
    with Session(engine) as session:
        stored = inbox.store(session, delivery)
        session.commit()
    if not stored:
        print(f"delivery {delivery.delivery_id} was received before: nothing to do")
        return 0
    handled = runtime.worker.drain()
    if runtime.sender is not None:
        # Every write the delivery owes, spaced as usual (not only the first one due).
        runtime.sender.drain(wait=True)
    print(f"{args.event}.{action or ''}: {handled} delivery handled" + (" (dry run: the GitHub calls above were not made)" if dry else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from demo.script import run_demo

    return run_demo(Path(args.database), Path(args.out))


def cmd_export(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.stages.exports import COLUMNS, export, write
    from storage.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_schema(engine)
    with Session(engine) as session:
        rows = export(session, args.what, args.year)
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        write(rows, args.format, out, COLUMNS[args.what])
    finally:
        if args.output:
            out.close()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="devex-bot", description="Government micro-procurement inside GitHub repositories.")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="the web process (with the worker, unless --no-worker)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-worker", action="store_true", help="intake only; run `devex-bot worker` beside it")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="the worker process: handles deliveries, sends GitHub writes, runs the scheduler")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="brings the database schema up to date (Alembic)")
    migrate.set_defaults(func=cmd_migrate)

    receive = sub.add_parser("receive", help="handles one webhook payload from a file")
    receive.add_argument("event", help="the X-GitHub-Event, e.g. issue_comment")
    receive.add_argument("file", help="a JSON payload as GitHub sends it")
    receive.add_argument("--dry-run", action="store_true", help="print the GitHub calls instead of making them")
    receive.add_argument("--delivery-id", default=None)
    receive.set_defaults(func=cmd_receive)

    demo = sub.add_parser("demo", help="a whole procurement on a local SQLite file, GitHub simulated")
    demo.add_argument("--database", default="devex-demo.db")
    demo.add_argument("--out", default="exports")
    demo.set_defaults(func=cmd_demo)

    export = sub.add_parser("export", help="records for contract officers and finance")
    export.add_argument("what", choices=["awards", "payments", "proposals", "disclosure"])
    export.add_argument("--year", type=int, default=None, help="only that calendar year (disclosure: the year each contract was entered into)")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", default=None, help="a file (default: standard output)")
    export.set_defaults(func=cmd_export)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
