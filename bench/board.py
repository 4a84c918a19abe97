"""The public board at 10,000 opportunities: median time of the list, a filtered list and a feed.

On SQLite and PostgreSQL: a database migrated, then filled through the tables of
`storage.tables` with 10,000 listed opportunities of 50 organizations (40 % open,
the rest in evaluation, awarded or completed), a milestone each and 30,000
proposals; `devex-bot serve --no-worker` on loopback; each page asked 200 times,
one request at a time over one keep-alive connection, after 20 to warm up. Each
filtered request uses one of several searches (words, a skill, an organization,
a range of values, a deadline), so no one query is favoured. The query plans
of the list and of a search are kept with the figures (they must use indexes).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import sqlalchemy as sa

from bench.context import Run
from bench.deploy import Deployment, migrate, pg_available, pg_create, pg_drop
from bench.procs import HOST
from storage import board as store
from storage.db import make_engine
from storage.tables import Milestone, Opportunity, Proposal
from sqlmodel import Session

OPPORTUNITIES = 10_000
PROPOSALS_EACH = 3
REQUESTS = 200
WARMUP = 20
STATES = ["open"] * 4 + ["evaluation"] * 2 + ["awarded"] * 2 + ["completed"] * 2
SKILLS = ["Python", "Go", "Rust", "TypeScript", "React", "Accessibility", "WCAG", "PostgreSQL", "Terraform", "GitHub Actions", "Java", "Kotlin", "CSV", "Open data", "i18n"]
WORDS = ["cache", "build", "forms", "export", "search", "login", "report", "payments", "grants", "maps", "parser", "dashboard", "queue", "archive", "translate"]
SEARCHES = [
    "?q=cache",
    "?skill=python",
    "?org=dept-7",
    "?min=2000&max=6000",
    "?q=forms+export&min=1000",
    "?skill=github+actions&closes_before=2027-03-01",
    "?q=parser&state=all",
]
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def fill(url: str, opportunities: int = OPPORTUNITIES) -> dict:
    """Listed opportunities, their milestones and proposals, in batches."""
    rng = random.Random(14)
    engine = make_engine(url)
    started = time.monotonic()
    with engine.begin() as conn:
        for start in range(0, opportunities, 1000):
            rows = []
            for n in range(start, min(start + 1000, opportunities)):
                org = f"dept-{n % 50}"
                words = rng.sample(WORDS, 3)
                state = STATES[n % len(STATES)]
                value = Decimal(rng.randrange(50_000, 999_900)) / 100
                rows.append(
                    dict(
                        installation_id=9000 + n % 50,
                        repository=f"{org}/repo-{n % 7}",
                        issue_number=n + 1,
                        title=f"{words[0].title()} the {words[1]} of the {words[2]} service",
                        html_url=f"https://github.com/{org}/repo-{n % 7}/issues/{n + 1}",
                        author="pm-bench",
                        state=state,
                        value=value,
                        deadline=NOW + timedelta(days=rng.randrange(1, 180), hours=4),
                        problem=f"The {words[1]} of the {words[2]} service is slow and hard to change. " * 6,
                        acceptance_criteria="Merged with tests; the service answers in under a second.",
                        evaluation_criteria="Approach 60 %, price 40 %.",
                        skills=", ".join(rng.sample(SKILLS, 3)),
                        bidding="sealed",
                        amounts_include_tax=True,
                        timezone="America/Toronto",
                        review_repository=f"{org}/repo-{n % 7}",
                        no_proposal_notice=False,
                        contractor="bench-contractor" if state in ("awarded", "completed") else None,
                        contract_value=value if state in ("awarded", "completed") else None,
                        repository_private=False,
                        on_board=True,
                        opened_at=NOW - timedelta(minutes=opportunities - n),
                        created_at=NOW - timedelta(minutes=opportunities - n),
                        updated_at=NOW,
                    )
                )
            conn.execute(sa.insert(Opportunity.__table__), rows)
        ids = [r[0] for r in conn.execute(sa.select(Opportunity.id, Opportunity.value)).all()]
        values = dict(conn.execute(sa.select(Opportunity.id, Opportunity.value)).all())
        conn.execute(sa.insert(Milestone.__table__), [dict(opportunity_id=i, position=1, name="Complete", amount=values[i], status="open") for i in ids])
        conn.execute(
            sa.insert(Proposal.__table__),
            [
                dict(opportunity_id=i, bidder=f"bidder-{k}-{i % 997}", status="live", current_version=1, amount=Decimal("500.00"),
                     submitted_at=NOW, receipt_number=f"B-{i}-{k}", sha256="0" * 64)
                for i in ids
                for k in range(PROPOSALS_EACH)
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    plans = {}
    with Session(store.reader(engine)) as session:
        plans["list"] = store.plan(session, store.Search())
        plans["search"] = store.plan(session, store.Search(words=("cache",), skill=("python",), min_value=Decimal("2000")))
    engine.dispose()
    return {"opportunities": opportunities, "proposals": opportunities * PROPOSALS_EACH, "fill_s": round(time.monotonic() - started, 1), "plans": plans}


def _time(client: httpx.Client, paths: list[str], requests: int) -> dict:
    for i in range(WARMUP):
        client.get(paths[i % len(paths)]).raise_for_status()
    times = []
    for i in range(requests):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    return {
        "requests": requests,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 2),
        "max_ms": round(times[-1], 2),
        "bytes": len(response.content),
    }


def measure(run: Run, label: str, url: str) -> dict:
    migrate(url)
    filled = fill(url, OPPORTUNITIES // (10 if run.quick else 1))
    run.log(f"board/{label}: {filled['opportunities']:,} opportunities stored in {filled['fill_s']} s")
    deployment = Deployment(procs=run.procs, keys=run.keys, db_url=url, work=run.work)
    port = deployment.start_app(no_worker=True, name=f"board-{label}")
    requests = REQUESTS // (4 if run.quick else 1)
    try:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
            detail = client.get("/api/opportunities?page=3").json()["opportunities"][0]
            pages = {
                "list": ["/en/", "/fr/"],
                "filtered list": [f"/en/{q}" for q in SEARCHES],
                "feed": ["/en/feed.atom", "/fr/feed.atom?skill=rust&min=3000"],
                "opportunity": [f"/en/opportunities/{detail['repository']}/{detail['number']}"],
                "json, page 10": ["/api/opportunities?page=10"],
            }
            timings = {name: _time(client, paths, requests) for name, paths in pages.items()}
    finally:
        deployment.stop_app()
    for name, t in timings.items():
        run.log(f"board/{label}: {name}: median {t['median_ms']} ms, p90 {t['p90_ms']} ms")
    return {"fill": filled, "pages": timings}


def run_board(run: Run) -> dict:
    results: dict = {"opportunities": OPPORTUNITIES // (10 if run.quick else 1), "databases": {}}
    results["databases"]["sqlite"] = measure(run, "sqlite", f"sqlite:///{run.work / 'board.db'}")
    if pg_available():
        name, url = pg_create("board")
        try:
            results["databases"]["postgresql"] = measure(run, "postgresql", url)
        finally:
            pg_drop(name)
    else:
        run.notes.append("board: PostgreSQL not reachable, measured on SQLite only")
    return results
