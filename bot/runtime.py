"""Puts the pieces together: engine, GitHub, router, worker, sender, scheduler."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy.engine import Engine

from bot.pipeline.intake import create_app
from bot.pipeline.pacing import INTAKE_SWITCH_INTERVAL, IntakeActivity
from bot.github.client import GitHubApp
from bot.pipeline.routing import Router
from bot.alerts.mailer import Mailer
from bot.logs import register_secret
from bot.stages.recovered import audit_recovered
from bot.pipeline.recovery import Recovery
from bot.pipeline.scheduler import Scheduler
from bot.pipeline.sender import Sender
from bot.web.board import routes as board_routes
from bot.settings import Settings
from bot.web.alerts import routes as alert_routes
from bot.pipeline.worker import Worker
from bot.stages.configuration import ConfigStore
from bot.stages.follow_ups import FOLLOWS, PREPARERS
from bot.stages.people import PermissionMemory
from bot.web.desk import routes as desk_routes
from handlers import desk, installation, issue_comment, issues, ping, pull_request, pull_request_review, push, scheduled
from storage.db import Checkpointer, is_sqlite, make_engine
from storage.tables import utcnow

log = logging.getLogger(__name__)

# Every handler, composed in one place.
ROUTER = Router(
    installation.router, ping.router, push.router, issues.router, issue_comment.router, pull_request.router, pull_request_review.router, scheduled.router, desk.router
)



@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    github_call: Optional[Callable]
    worker: Worker
    sender: Optional[Sender]
    scheduler: Scheduler
    recovery: Optional[Recovery] = None
    clock: Callable[[], datetime] = utcnow
    mailer: Optional[Mailer] = None  # alerts by email, when SMTP_URL is set
    activity: IntakeActivity = field(default_factory=IntakeActivity)
    threads: list[threading.Thread] = field(default_factory=list)
    # The desk's client for GitHub's OAuth web flow (the demo gives it the simulated GitHub).
    web_client: Optional[Any] = None
    stop: threading.Event = field(default_factory=threading.Event)

    def app(self, background: bool = False):
        @contextlib.asynccontextmanager
        async def lifespan(_app):
            if background:
                # Intake first (bot.pipeline.pacing).
                sys.setswitchinterval(INTAKE_SWITCH_INTERVAL)
                self.start()
            else:  # intake alone still gets its SQLite checkpoints off the request path
                self.start(worker=False, sender=False, scheduler=False, recovery=False, mailer=False)
            try:
                yield
            finally:
                self.shutdown()

        app = create_app(
            self.engine,
            self.settings.webhook_secret_bytes,
            ROUTER,
            lifespan=lifespan,
            clock=self.clock,
            activity=self.activity,
            body_timeout=self.settings.http_body_timeout,
            routes=board_routes(self.engine, self.settings),
        )
        app.router.routes.extend(alert_routes(self.engine, self.settings, self.clock))
        app.router.routes.extend(desk_routes(self.engine, self.settings, self.clock, self.web_client))
        return app

    def start(self, worker: bool = True, sender: bool = True, scheduler: bool = True, recovery: bool = True, mailer: bool = True) -> None:
        self.stop.clear()
        loops = []
        if is_sqlite(self.engine) and hasattr(self.engine, "devex_write_lock"):
            loops.append(("checkpoints", Checkpointer(self.engine).run_forever))
        if worker:
            loops.append(("worker", self.worker.run_forever))
        if sender and self.sender is not None:
            loops.append(("sender", self.sender.run_forever))
        if scheduler:
            loops.append(("scheduler", self.scheduler.run_forever))
        if mailer and self.mailer is not None:
            loops.append(("mailer", self.mailer.run_forever))
        if recovery and self.recovery is not None:
            # Beside the scheduler: its first pass at once, so an outage is repaired
            # within one interval of restarting.
            loops.append(("recovery", self.recovery.run_forever))
        for name, target in loops:
            thread = threading.Thread(target=_named(target, f"devex-{name}"), args=(self.stop,), name=f"devex-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.threads.clear()


def _named(target, name: str):
    """The loop, its thread named for the operating system too (`top -H`, `ps -L`,
    /proc/PID/task/*/comm show which loop uses the CPU); Linux only, else a no-op."""

    def run(stop: threading.Event) -> None:
        try:
            import ctypes

            ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
        except (OSError, AttributeError):
            pass
        target(stop)

    return run


def github_for(settings: Settings) -> Optional[GitHubApp]:
    if not settings.github_app_id or not settings.github_private_key:
        return None
    return GitHubApp(settings.github_app_id, settings.github_private_key, settings.github_api_url)


def build(
    settings: Settings,
    *,
    engine: Optional[Engine] = None,
    github_call: Optional[Callable] = None,
    app_call: Optional[Callable] = None,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    register_secret(settings.github_webhook_secret)
    register_secret(settings.github_private_key)
    register_secret(settings.secret_key)
    register_secret(settings.smtp_url)
    register_secret(settings.github_client_secret)
    engine = engine or make_engine(settings.database_url)
    activity = IntakeActivity()
    if github_call is None:
        app = github_for(settings)
        github_call = app.call if app is not None else None
        app_call = app_call or (app.call_as_app if app is not None else None)
    recovery = Recovery(engine, app_call, settings.recovery_interval, clock=clock) if app_call is not None and settings.recovery_interval > 0 else None
    sender = (
        Sender(engine, settings, github_call, preparers=PREPARERS, follows=FOLLOWS, clock=clock, intake=activity)
        if github_call is not None
        else None
    )
    return Runtime(
        settings=settings,
        engine=engine,
        github_call=github_call,
        worker=Worker(
            engine,
            settings,
            ROUTER,
            github_call,
            clock=clock,
            intake=activity,
            on_recovered=audit_recovered,
            configs=ConfigStore(ttl=settings.config_ttl, clock=clock),
            permissions=PermissionMemory(),
        ),
        sender=sender,
        scheduler=Scheduler(engine, settings.scheduler_interval, clock=clock),
        recovery=recovery,
        clock=clock,
        mailer=Mailer(engine, settings, clock=clock) if settings.alerts_on else None,
        activity=activity,
    )
