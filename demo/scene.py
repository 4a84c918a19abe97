"""The stage every chapter of `devex-bot demo` plays on: the repository, the clock, the app, the people's actions.

Every step is a signed webhook delivered to the real app (`POST /webhooks`),
stored, handled by the worker, and answered through the outbox to a simulated
GitHub (which, like GitHub, sends webhooks for the app's own actions back).
Time is a clock the demo moves, so deadlines and due dates pass in seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.github.client import GitHubApp
from bot.procurement.dates import parse_deadline
from bot.procurement.form import MilestoneSpec, OpportunityForm, render_opportunity_form
from bot.runtime import build
from bot.settings import Settings
from demo.github import SimulatedGitHub
from storage.db import make_engine
from storage.migrate import upgrade

REPO = "canada-ca/digital-forms"
INSTALLATION = 1
API = "https://api.github.demo"
SECRET = "demo-webhook-secret"
WEB = "https://github.com"  # the simulated GitHub answers its web host too
PUBLIC_URL = "https://devex.demo"
DESK_CLIENT_ID = "Iv23liDemoDesk0001"
DESK_CLIENT_SECRET = "demo-desk-client-secret"

# The department turns on both controls of the Financial Administration Act:
# funds committed before posting (s. 32) and work certified before payment (s. 34).
FINANCE_CONFIG = (
    "finance:\n  commitment_required: true\n  certification_required: true\n"
    "finance_officers: [finance-fatima]\n"
    "disclosure:\n  owner_org: esdc-edsc\n  economic_object_code: '0491'\n"
)


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Procurement:
    """Drives the app as GitHub and people would, one step at a time."""

    def __init__(self, database: Path, say: Callable[[str], None] = print):
        self.say = say
        self.clock = Clock(datetime(2026, 11, 2, 14, 0, tzinfo=timezone.utc))
        self.sim = SimulatedGitHub(api_url=API, clock=self.clock)
        self.sim.add_repo(REPO)
        self.sim.add_installation(INSTALLATION, "canada-ca", [REPO])
        self.sim.set_permission(REPO, "pm-priya", "write")
        self.sim.set_permission(REPO, "officer-olivier", "admin")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{database}")
        upgrade(engine)
        settings = Settings(
            GITHUB_APP_ID="1",
            GITHUB_PRIVATE_KEY=pem,
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_API_URL=API,
            DATABASE_URL=f"sqlite:///{database}",
            DEVEX_WRITE_INTERVAL=0,
            DEVEX_RETRY_BASE=0,
            DEVEX_CONFIG_TTL=0,
            # The bidder's desk: the App's client for signing in with GitHub (simulated).
            GITHUB_CLIENT_ID=DESK_CLIENT_ID,
            GITHUB_CLIENT_SECRET=DESK_CLIENT_SECRET,
            GITHUB_WEB_URL=WEB,
            DEVEX_PUBLIC_URL=PUBLIC_URL,
            DEVEX_SECRET_KEY="demo-desk-signing-key-0123456789",
            DEVEX_DESK_WAIT=0,
        )
        self.sim.oauth_app(DESK_CLIENT_ID, DESK_CLIENT_SECRET)
        self.github = GitHubApp("1", pem, API, transport=self.sim.transport())
        self.runtime = build(settings, engine=engine, github_call=self.github.call, clock=self.clock)
        self.runtime.web_client = httpx.AsyncClient(transport=self.sim.transport())
        self.app = self.runtime.app()
        self.engine = engine

    # ---------------------------------------------------------------- plumbing

    def deliver(self, event: str, payload: dict) -> int:
        payload.setdefault("installation", {"id": INSTALLATION, "node_id": "demo"})
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
        }

        async def post():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://devex-bot") as client:
                return await client.post("/webhooks", content=body, headers=headers)

        return asyncio.run(post()).status_code

    def settle(self) -> None:
        """Worker, scheduler and sender until quiet; GitHub's echoes of the app's own actions go back in."""
        for _ in range(50):
            self.runtime.scheduler.run_once()
            worked = self.runtime.worker.drain()
            sent = self.runtime.sender.drain()
            echoes = self.sim.pop_events()
            for event, payload in echoes:
                self.deliver(event, payload)
            if not (worked or sent or echoes):
                return

    def act(self, step: str, delivery: tuple[str, dict]) -> None:
        event, payload = delivery
        status = self.deliver(event, payload)
        self.say(f"  -> {step}  [{event}.{payload.get('action', '')}: HTTP {status}]")
        self.settle()

    def comment(self, number: int, login: str, body: str) -> None:
        first = body.splitlines()[0]
        self.act(f"@{login} comments `{first}`", self.sim.human_comment(REPO, number, login, body))

    def wait_until(self, when: datetime) -> None:
        self.clock.now = when
        self.say(f"  .. time passes: it is now {when:%Y-%m-%d %H:%M} UTC")
        self.settle()

    def last_reply(self, number: int) -> str:
        bot = [c for c in self.sim.issue_comments(REPO, number) if str(c["user"]).endswith("[bot]") or "[bot]" in json.dumps(c["user"])]
        return bot[-1]["body"] if bot else ""


def opportunity_form(value: str, deadline: str, milestones: list[tuple[str, str]]) -> str:
    """The body of the demo's opportunity issue, as the issue form renders it."""
    return render_opportunity_form(
        OpportunityForm(
            value=Decimal(value),
            deadline=parse_deadline(deadline, "America/Toronto", time(14, 0)),
            problem="Citizens abandon the benefits form on mobile: the date fields do not work with screen readers.",
            acceptance_criteria="WCAG 2.1 AA on the form's date fields, verified with NVDA and VoiceOver; tests in CI.",
            milestones=tuple(MilestoneSpec(n, Decimal(a)) for n, a in milestones),
            evaluation_criteria="Approach 50%, relevant experience 30%, price 20%.",
            skills="Accessibility, JavaScript",
        )
    )
