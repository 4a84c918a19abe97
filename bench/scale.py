"""Scale: one bid, and the award-review issue of 300 proposals, with 200,000 proposal versions stored.

Two PostgreSQL databases: one empty, one filled by bulk SQL with 10,000
opportunities, 100,000 proposals in 200,000 versions, their audit trail, and
the deliveries and GitHub writes that made them. On each, the same
opportunity is opened and bid on over HTTP, one bid at a time, and the time
from posting a bid to its transaction committed is measured. The app polls
for work every 10 ms here (`DEVEX_POLL_INTERVAL=0.01`) so that one bid's time
is its processing, not an idle worker's nap. On the filled database an
evaluator then sends `/award` on an opportunity with 300 proposals, and the
time until the award-review issue exists on (simulated) GitHub is measured,
with the rendering of its pages timed alone as well.
"""

from __future__ import annotations

import statistics
import time
import uuid

import httpx

from bench.context import Run
from bench.deploy import Database, Deployment, delivery, migrate, pg_available, pg_create, pg_drop
from bench.procs import HOST
from bench.scenario import ISSUER, Procurement, bid_text, bidder

OPPORTUNITIES = 10_000
PROPOSALS = 100_000  # two versions each: 200,000 versions
BIG = 300
BIDS = 25

BULK = [
    "INSERT INTO installations (id, account, status, updated_at) VALUES (7000, 'bulk-org', 'active', now())",
    """INSERT INTO opportunities (installation_id, repository, issue_number, title, html_url, author, state, value, deadline,
         problem, acceptance_criteria, bidding, amounts_include_tax, timezone, review_repository, no_proposal_notice, created_at, updated_at)
       SELECT 7000, 'bulk-org/repo-' || (g % 50), g, 'Opportunity ' || g, 'https://github.com/bulk-org/repo-' || (g % 50) || '/issues/' || g,
         'pm-bulk', (ARRAY['open','evaluation','awarded','completed','cancelled'])[1 + g % 5], 9500.00,
         now() + interval '60 days', 'A problem to solve, described at some length.', 'Merged with tests.', 'sealed', true,
         'America/Toronto', 'bulk-org/repo-' || (g % 50), false, now() - interval '90 days', now()
       FROM generate_series(1, {opportunities}) g""",
    """INSERT INTO milestones (opportunity_id, position, name, amount, status)
       SELECT id, 1, 'Complete', 9500.00, 'open' FROM opportunities WHERE installation_id = 7000""",
    """INSERT INTO registrations (login, user_id, terms_url, terms_version, registered_at)
       SELECT 'bulk-bidder-' || g, g, 'https://example.gc.ca/terms', '2024-01', now() - interval '100 days'
       FROM generate_series(0, 19999) g""",
    """INSERT INTO proposals (opportunity_id, bidder, status, current_version, amount, submitted_at, receipt_number, sha256)
       SELECT o.id, 'bulk-bidder-' || ((o.id * 13 + k * 1999) % 20000), CASE WHEN k = 9 THEN 'withdrawn' ELSE 'live' END, 2,
         8000 + k * 100, now() - interval '40 days', 'B-' || o.id || '-' || k || '.2', md5(o.id || ':' || k) || md5(k || ':' || o.id)
       FROM (SELECT id FROM opportunities WHERE installation_id = 7000) o, generate_series(0, {per} - 1) k""",
    """INSERT INTO proposal_versions (proposal_id, version, amount, text, sha256, receipt_number, comment_id, comment_url, delivery_id, submitted_at)
       SELECT p.id, v, p.amount, repeat('A proposal of a few hundred characters. ', 8), p.sha256, 'BV-' || p.id || '.' || v, p.id * 10 + v,
         'https://github.com/bulk-org/c/' || p.id, 'bulk-' || p.id || '-' || v, p.submitted_at
       FROM proposals p, generate_series(1, 2) v""",
    """INSERT INTO audit_events (opportunity_id, actor, kind, detail, delivery_id, url, at)
       SELECT p.opportunity_id, p.bidder, 'bid_recorded', '{{"version": ' || v || '}}', 'bulk-' || p.id || '-' || v, NULL, p.submitted_at
       FROM proposals p, generate_series(1, 2) v""",
    """INSERT INTO deliveries (delivery_id, event, action, installation_id, repository, ordering_key, payload, status, attempts,
         received_at, next_attempt_at, processed_at)
       SELECT 'bulk-' || g, 'issue_comment', 'created', 7000, 'bulk-org/repo-' || (g % 50), 'bulk-org/repo-' || (g % 50) || '#' || (g % {opportunities}),
         '{{"action": "created"}}', 'done', 1, now() - interval '40 days', now() - interval '40 days', now() - interval '40 days'
       FROM generate_series(1, {versions}) g""",
    """INSERT INTO github_writes (installation_id, kind, method, path, body, status, attempts, delivery_id, created_at, next_attempt_at, sent_at)
       SELECT 7000, 'request', CASE WHEN g % 2 = 0 THEN 'POST' ELSE 'DELETE' END, '/repos/bulk-org/repo-' || (g % 50) || '/issues/1/comments',
         '{{"body": "..."}}', 'sent', 1, 'bulk-' || (g / 2), now() - interval '40 days', now() - interval '40 days', now() - interval '40 days'
       FROM generate_series(1, {writes}) g""",
]


def _big_opportunity(db: Database, repo: str, number: int) -> int:
    """An opportunity in evaluation on the simulated repository, with 300 proposals, 150 of them revised, all scored."""
    sql = [
        f"""INSERT INTO opportunities (installation_id, repository, issue_number, title, html_url, author, state, value, deadline,
              problem, acceptance_criteria, evaluation_criteria, bidding, amounts_include_tax, timezone, review_repository,
              review_repository_private, no_proposal_notice, created_at, updated_at)
            VALUES (5000, '{repo}', {number}, 'Speed up the build (300 proposals)', 'https://github.com/{repo}/issues/{number}', '{ISSUER}',
              'evaluation', 9500.00, now() - interval '1 day', 'The build is slow.', 'Under 10 minutes.', 'Approach 60%, price 40%.',
              'sealed', true, 'America/Toronto', '{repo}', false, false, now() - interval '40 days', now())""",
        f"""INSERT INTO milestones (opportunity_id, position, name, amount, status)
            SELECT id, m, 'Milestone ' || m, 4750.00, 'open' FROM opportunities, generate_series(1, 2) m
            WHERE repository = '{repo}' AND issue_number = {number}""",
        f"""INSERT INTO proposals (opportunity_id, bidder, status, current_version, amount, submitted_at, receipt_number, sha256)
            SELECT o.id, 'big-bidder-' || lpad(g::text, 3, '0'), CASE WHEN g % 50 = 0 THEN 'withdrawn' ELSE 'live' END,
              1 + (g % 2), 5000 + g * 10, now() - interval '10 days' + g * interval '1 minute', 'R-BIG-' || g, md5('big' || g) || md5(g || 'big')
            FROM opportunities o, generate_series(1, {BIG}) g WHERE o.repository = '{repo}' AND o.issue_number = {number}""",
        f"""INSERT INTO proposal_versions (proposal_id, version, amount, text, sha256, receipt_number, submitted_at)
            SELECT p.id, v, p.amount, repeat('We will profile the build and cache the dependencies. ', 12), p.sha256, p.receipt_number || '.' || v, p.submitted_at
            FROM proposals p JOIN opportunities o ON o.id = p.opportunity_id, generate_series(1, 2) v
            WHERE o.repository = '{repo}' AND o.issue_number = {number} AND v <= p.current_version""",
        f"""INSERT INTO scores (proposal_id, evaluator, score, note, scored_at)
            SELECT p.id, '{ISSUER}', CASE WHEN p.bidder = 'big-bidder-001' THEN 99 ELSE 40 + (p.id % 50) END, 'Read and scored.', now() - interval '12 hours'
            FROM proposals p JOIN opportunities o ON o.id = p.opportunity_id WHERE o.repository = '{repo}' AND o.issue_number = {number}""",
        f"""INSERT INTO audit_events (opportunity_id, actor, kind, detail, at)
            SELECT p.opportunity_id, p.bidder, 'bid_recorded', '{{}}', p.submitted_at
            FROM proposals p JOIN opportunities o ON o.id = p.opportunity_id WHERE o.repository = '{repo}' AND o.issue_number = {number}""",
    ]
    for statement in sql:
        db.conn.execute(statement)
    return db.one(f"SELECT id FROM opportunities WHERE repository = '{repo}' AND issue_number = {number}")


def fill(db: Database, quick: bool) -> dict:
    opportunities = 1000 if quick else OPPORTUNITIES
    per = PROPOSALS // OPPORTUNITIES
    versions = opportunities * per * 2
    params = {"opportunities": opportunities, "per": per, "versions": versions, "writes": versions * 2}
    started = time.monotonic()
    for statement in BULK:
        db.conn.execute(statement.format(**params))
    db.conn.execute("ANALYZE")
    counts = {t: db.one(f"SELECT count(*) FROM {t}") for t in ("opportunities", "proposals", "proposal_versions", "audit_events", "deliveries", "github_writes", "registrations")}
    return {"seconds": round(time.monotonic() - started, 1), "rows": counts}


def _one_bid_times(deployment: Deployment, db: Database, procurement: Procurement) -> dict:
    """`BIDS` bids, one at a time: from the POST to the delivery's `done` committed."""
    repo, number = procurement.numbers[-1]
    client = httpx.Client(base_url=f"http://{HOST}:{deployment.app_port}", timeout=30)
    times = []
    try:
        for i in range(BIDS):
            event, payload = deployment.sim.human([{"kind": "comment", "repo": repo, "number": number, "login": bidder(i), "body": bid_text(8000 + i, i)}])[0]
            d = delivery(event, payload, delivery_id=f"scale-{uuid.uuid4()}")
            started = time.monotonic()
            client.post("/webhooks", content=d["body"], headers={"X-GitHub-Event": event, "X-GitHub-Delivery": d["delivery_id"], "X-Hub-Signature-256": d["signature"], "Content-Type": "application/json"})
            db.wait(lambda: db.one("SELECT status FROM deliveries WHERE delivery_id = ?", (d["delivery_id"],)) != "pending", 30, interval=0.001)
            times.append((time.monotonic() - started) * 1000)
            db.wait(lambda: db.pending_writes() == 0, 30, interval=0.005)
    finally:
        client.close()
    statuses = db.delivery_statuses()
    return {"bids": BIDS, "median_ms": round(statistics.median(times), 2), "p90_ms": round(sorted(times)[int(0.9 * len(times)) - 1], 2), "max_ms": round(max(times), 2), "statuses": statuses}


def _award_review(run: Run, deployment: Deployment, db: Database, repo: str, number: int, opportunity_id: int) -> dict:
    event, payload = deployment.sim.human([{"kind": "comment", "repo": repo, "number": number, "login": ISSUER, "body": "/award @big-bidder-001"}])[0]
    d = delivery(event, payload, delivery_id=f"scale-award-{uuid.uuid4()}")
    started = time.monotonic()
    httpx.post(
        f"http://{HOST}:{deployment.app_port}/webhooks",
        content=d["body"],
        headers={"X-GitHub-Event": event, "X-GitHub-Delivery": d["delivery_id"], "X-Hub-Signature-256": d["signature"], "Content-Type": "application/json"},
        timeout=30,
    )
    db.wait(lambda: db.one("SELECT status FROM deliveries WHERE delivery_id = ?", (d["delivery_id"],)) != "pending", 60, interval=0.001)
    committed = (time.monotonic() - started) * 1000
    out = {"proposals": BIG, "award_committed_ms": round(committed, 1)}
    try:
        db.wait(lambda: db.one("SELECT count(*) FROM awards WHERE opportunity_id = ? AND review_issue_number IS NOT NULL", (opportunity_id,)) > 0, 30, interval=0.002)
        out["review_issue_created_ms"] = round((time.monotonic() - started) * 1000, 1)
    except TimeoutError:
        out["review_issue_created_ms"] = None
        events = db.rows("SELECT kind FROM audit_events WHERE opportunity_id = ? ORDER BY id DESC LIMIT 2", (opportunity_id,))
        writes = db.rows("SELECT id, kind, status, attempts, last_error FROM github_writes WHERE status = 'pending' ORDER BY id LIMIT 3")
        out["note"] = f"no award-review issue within 30 s of the /award; last audit events {events}; pending writes {writes}"
        if db.one("SELECT count(*) FROM awards WHERE opportunity_id = ?", (opportunity_id,)):
            out["render_ms"] = _render_time(db.url, opportunity_id)
        return out
    db.wait(lambda: db.pending_writes() == 0, 60, interval=0.01)
    out["review_pages"] = db.one("SELECT count(*) FROM github_writes WHERE kind = 'award_review'")
    out["render_ms"] = _render_time(db.url, opportunity_id)
    return out


def _render_time(url: str, opportunity_id: int) -> dict:
    """`award_review.pages` alone, in this process, on the same database: median of 5."""
    from sqlmodel import Session

    from bot.stages import award_review
    from storage import procurement as store
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        times = []
        length = 0
        with Session(engine) as session:
            award = store.pending_award(session, opportunity_id)
            for _ in range(5):
                started = time.perf_counter()
                pages = award_review.pages(session, award)
                times.append((time.perf_counter() - started) * 1000)
                session.expire_all()
            length = sum(len(p) for p in pages)
        return {"median_ms": round(statistics.median(times), 1), "pages": len(pages), "characters": length}
    finally:
        engine.dispose()


def _measure(run: Run, tag: str, filled: bool) -> dict:
    name, url = pg_create(tag)
    deployment = Deployment(run.procs, run.keys, url, run.work)
    db = None
    try:
        migrate(url)
        db = Database(url)
        sim = deployment.start_sim()
        procurement = Procurement(deployment, opportunities=2, installations=1, bidders=BIDS)
        procurement.seed()
        out: dict = {}
        big_repo, big_number = procurement.numbers[0]
        if filled:
            run.log("scale: bulk insert")
            out["fill"] = fill(db, run.quick)
            big_id = _big_opportunity(db, big_repo, big_number)
            db.conn.execute("ANALYZE")
            run.log(f"  {out['fill']['rows']['proposal_versions']:,} proposal versions in {out['fill']['seconds']} s")
        deployment.start_app(name=f"scale-{tag}", DEVEX_WRITE_INTERVAL=0, DEVEX_POLL_INTERVAL=0.01)
        # Open the second issue as an opportunity; everyone registers.
        acts = [{"kind": "label", "repo": procurement.numbers[1][0], "number": procurement.numbers[1][1], "login": ISSUER, "label": "opportunity"}]
        deployment.post([delivery(e, p) for e, p in sim.human(acts)])
        repo, number = procurement.numbers[1]
        registrations = [{"kind": "comment", "repo": repo, "number": number, "login": bidder(i), "body": "/register"} for i in range(BIDS)]
        deployment.post([delivery(e, p) for e, p in sim.human(registrations)])
        db.wait(lambda: db.pending_deliveries() == 0 and db.pending_writes() == 0, 120)
        out["bid"] = _one_bid_times(deployment, db, procurement)
        if filled:
            out["award_review"] = _award_review(run, deployment, db, big_repo, big_number, big_id)
        return out
    finally:
        if db is not None:
            db.close()
        deployment.stop_app()
        if deployment.sim_proc is not None:
            run.procs.stop(deployment.sim_proc)
        pg_drop(name)


def run_scale(run: Run) -> dict:
    if not pg_available():
        run.notes.append("PostgreSQL not reachable: the scale section was skipped")
        return {"skipped": "PostgreSQL not reachable"}
    run.log("scale: one bid at a time on an empty PostgreSQL database")
    empty = _measure(run, "empty", filled=False)
    run.log(f"  median {empty['bid']['median_ms']} ms")
    run.log("scale: the same on 200,000 proposal versions")
    full = _measure(run, "full", filled=True)
    run.log(f"  median {full['bid']['median_ms']} ms")
    ratio = full["bid"]["median_ms"] / empty["bid"]["median_ms"] if empty["bid"]["median_ms"] else None
    return {"empty": empty, "full": full, "bid_ratio": round(ratio, 2) if ratio else None}
