"""`devex-bot demo`: a whole procurement on a local SQLite file, GitHub simulated.

Every step is a signed webhook delivered to the real app (`POST /webhooks`),
stored, handled by the worker, and answered through the outbox to a simulated
GitHub (which, like GitHub, sends webhooks for the app's own actions back).
Time is a clock the demo moves, so deadlines and due dates pass in seconds.
At the end it prints each issue thread as GitHub would show it and writes the
exports.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from demo.award import continue_after_bidding  # noqa: F401  (run_demo finds it: evaluation and the award)
from demo.payments import continue_after_award  # noqa: F401  (demo_award finds it: pay on pull)
from bot.stages.exports import COLUMNS, EXPORTS, write
from bot.github.client import GitHubApp
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
        )
        self.github = GitHubApp("1", pem, API, transport=self.sim.transport())
        self.runtime = build(settings, engine=engine, github_call=self.github.call, clock=self.clock)
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


def _form(value: str, deadline: str, milestones: list[tuple[str, str]]) -> str:
    from decimal import Decimal

    from bot.procurement.dates import parse_deadline
    from datetime import time

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


def run_demo(database: Path, out: Path, say: Callable[[str], None] = print) -> int:
    p = Procurement(database, say)
    sim = p.sim
    say("devex-bot demo: a whole procurement, from label to payment, GitHub simulated.\n")

    say("1. A product manager posts an opportunity with a mistake in it.")
    broken = sim.open_issue(REPO, "Accessible date fields on the benefits form", _form("9500.00", "2026-11-16", [("Design", "4500.00"), ("Build", "5000.00")]).replace("9,500.00", "12,500.00"), "pm-priya")
    number = broken["number"]
    p.act("label `opportunity`", sim.human_label(REPO, number, "pm-priya", "opportunity"))
    say("   She fixes the value.")
    p.act("edit the issue", sim.human_edit_issue(REPO, number, "pm-priya", _form("9500.00", "2026-11-16", [("Design", "4500.00"), ("Build", "5000.00")])))

    say("\n2. Three bidders register and bid (sealed: each /bid is recorded, removed, and receipted).")
    for login in ("dev-dana", "studio-sam", "coder-chen"):
        p.comment(number, login, "/register")
    p.comment(number, "dev-dana", "/bid 9,200.00\nI audit the fields with NVDA, then rebuild them on the GC design system.")
    p.comment(number, "studio-sam", "/soumission 8 900,00 $\nNous refaisons les champs avec le système de design, tests axe inclus.")
    p.comment(number, "coder-chen", "/bid 9999\nEverything, fast.")
    say("   (refused: over the value)")
    p.comment(number, "dev-dana", "/bid 8,750.00\nI audit the fields with NVDA and VoiceOver, rebuild them on the GC design system, and add axe tests to CI.")
    say("   (Dana bids again: her proposal is replaced, both versions kept)")
    p.comment(number, "coder-chen", "/bid 9000\nA quick rebuild.")
    p.comment(number, "coder-chen", "/withdraw")
    p.comment(number, "visitor-vic", "/status")

    say("\n3. The deadline passes; the scheduler closes bidding with no webhook arriving.")
    p.wait_until(datetime(2026, 11, 16, 19, 0, 5, tzinfo=timezone.utc))

    continue_demo = globals().get("continue_after_bidding")
    if continue_demo is not None:
        continue_demo(p, number, say)

    say("\n" + "=" * 72)
    say("The issue threads, as GitHub shows them:\n")
    for issue_number in sorted(sim.issues[REPO]):
        say(sim.render_thread(REPO, issue_number))

    out.mkdir(parents=True, exist_ok=True)
    from sqlmodel import Session

    with Session(p.engine) as session:
        for name, rows_of in EXPORTS.items():
            # The demo's clock, not the wall clock, says which payments are overdue.
            rows = rows_of(session, p.clock()) if name == "payments" else rows_of(session)
            for fmt in ("csv", "json"):
                path = out / f"{name}.{fmt}"
                with open(path, "w", newline="", encoding="utf-8") as handle:
                    write(rows, fmt, handle, COLUMNS[name])
            say(f"wrote {out / name}.csv and .json ({len(rows)} rows)")
    say(f"\nThe database is {database}; GitHub received {len(sim.requests)} requests ({sum(sim.token_requests.values())} token request).")
    return 0
