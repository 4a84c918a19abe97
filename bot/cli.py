"""`devex-bot`: serve, worker, migrate, receive, recover, demo, export, board."""

from __future__ import annotations

import argparse
import logging
import sys
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
    from bot.pipeline.http_limits import server_options

    config = uvicorn.Config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Applied by the app itself, to every request but intake's (IntakeApp.behind_proxy).
        proxy_headers=False,
        **server_options(settings.http_header_timeout),
    )
    app.behind_proxy(config.forwarded_allow_ips)
    uvicorn.Server(config).run()
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
    """Handles one payload from a file, as Probot's `receive` does (bot.receive)."""
    from bot.logs import configure
    from bot.receive import receive

    settings = _settings()
    configure(settings.log_level)
    return receive(settings, args.event, args.file, dry_run=args.dry_run, delivery_id=args.delivery_id)


def _moment(text: str):
    """An ISO 8601 date-time (UTC when it names no offset) or a date (midnight UTC)."""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def cmd_recover(args: argparse.Namespace) -> int:
    """One pass of missed-delivery recovery (bot.pipeline.recovery), printing what it asked for."""
    from bot.github.client import GitHubError
    from bot.logs import configure
    from bot.pipeline.recovery import Recovery
    from bot.runtime import github_for
    from storage.db import make_engine

    settings = _settings()
    configure(settings.log_level)
    app = github_for(settings)
    if app is None:
        raise SystemExit("devex-bot recover: GITHUB_APP_ID and the private key are needed to read GitHub's deliveries")
    engine = make_engine(settings.database_url)
    _check_schema(engine)
    try:
        report = Recovery(engine, app.call_as_app, settings.recovery_interval).run_once(since=args.since)
    except GitHubError as error:
        raise SystemExit(f"devex-bot recover: {error}") from None
    finally:
        engine.dispose()
    if report.skipped:
        print("another process is running a recovery pass now: nothing done")
        return 0
    print(f"read {report.attempts} delivery attempt(s) on {report.pages} page(s), back to {report.since.isoformat()}")
    for delivery in report.requested:
        print(f"redelivered: {delivery.describe()}")
    for delivery, why in report.refused:
        print(f"refused by GitHub: {delivery.describe()}: {why}")
    for delivery, why in report.failed:
        print(f"not asked (GitHub failed): {delivery.describe()}: {why}")
    print(
        f"{len(report.requested)} redelivered, {len(report.refused)} refused, {len(report.failed)} not asked; "
        f"{len(report.already_stored)} already stored, {len(report.already_requested)} already asked for"
    )
    return 1 if report.failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from demo.script import run_demo

    return run_demo(Path(args.database), Path(args.out))


def cmd_export(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from bot.procurement.config import ConfigError
    from bot.stages.exports import COLUMNS, export, write
    from storage.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_schema(engine)
    try:
        with Session(engine) as session:
            rows = export(session, args.what, args.year)
    except ConfigError as error:
        keys = ", ".join(key for key, *_ in error.problems)
        raise SystemExit(f"devex-bot export {args.what}: a repository's .github/devex.yml is invalid ({keys}); fix it and export again")
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        write(rows, args.format, out, COLUMNS[args.what])
    finally:
        if args.output:
            out.close()
    return 0


def cmd_board(args: argparse.Namespace) -> int:
    from bot.web.export import export
    from storage.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    _check_schema(engine)
    out = Path(args.out)
    written = export(engine, out, base_url=args.base_url or settings.public_url)
    print(f"board written to {out.resolve()} ({written} files): open {out.resolve() / 'index.html'}")
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

    recover = sub.add_parser("recover", help="one pass of missed-delivery recovery: asks GitHub to redeliver what failed")
    recover.add_argument("--since", type=_moment, default=None, help="look back to this ISO 8601 date-time (at most three days)")
    recover.set_defaults(func=cmd_recover)

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

    board = sub.add_parser("board", help="writes the public board (pages, feeds, JSON) as static files")
    board.add_argument("--out", required=True, help="the folder to write into")
    board.add_argument("--base-url", default=None, help="where the folder will be published, for links in feeds (default DEVEX_PUBLIC_URL)")
    board.set_defaults(func=cmd_board)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
