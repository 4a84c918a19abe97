"""End to end: 1,000 bids on 20 opportunities, from the first delivery to the last one committed.

"Committed" means the bid recorded, its audit event, its `done` mark and the
GitHub writes it owes (queued in the outbox) in one transaction. GitHub is
the simulated server, answering at once, and the sender sends as fast as it
can (`DEVEX_WRITE_INTERVAL=0`) while the worker works, as it would in the
process. Then, apart, the drain of the same writes with GitHub's real pacing.
"""

from __future__ import annotations

from typing import Optional

from bench.context import Run
from bench.deploy import Database, Deployment, migrate, pg_available, pg_create, pg_drop
from bench.procs import cpu_seconds
from bench.scenario import Procurement

OPPORTUNITIES = 20
BIDS_PER_OPPORTUNITY = 50  # 1,000 bids
PACED_INSTALLATIONS = 20


def _cpu(deployment: Deployment) -> float:
    pids = [deployment.app_proc.pid] + [w.pid for w in deployment.workers]
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def _writes(db: Database, since_id: int) -> dict:
    rows = db.rows(
        "SELECT kind, method, status, count(*) FROM github_writes WHERE id > ? GROUP BY kind, method, status", (since_id,)
    )
    out = {}
    for kind, method, status, n in rows:
        out[f"{method or kind} {status}"] = n
    return out


def _prepare(run: Run, url: str, installations: int, **app) -> tuple[Deployment, Database, Procurement]:
    deployment = Deployment(run.procs, run.keys, url, run.work)
    deployment.start_sim()
    deployment.start_app(**app)
    db = Database(url)
    procurement = Procurement(deployment, opportunities=OPPORTUNITIES, installations=installations, bidders=BIDS_PER_OPPORTUNITY)
    procurement.seed()
    deployment.post(procurement.open_all())
    deployment.post(procurement.register_all())
    db.wait(lambda: db.pending_deliveries() == 0 and db.pending_writes() == 0, 180)
    return deployment, db, procurement


def _stop(run: Run, deployment: Deployment, db: Optional[Database]) -> None:
    if db is not None:
        db.close()
    deployment.stop_app()
    if deployment.sim_proc is not None:
        run.procs.stop(deployment.sim_proc)


def one_run(run: Run, name: str, url: str, workers: int) -> dict:
    """`devex-bot serve` (one worker), plus `workers - 1` `devex-bot worker` processes."""
    deployment, db = None, None
    try:
        deployment, db, procurement = _prepare(
            run, url, installations=1, name=f"e2e-{name}", workers=workers - 1, DEVEX_WRITE_INTERVAL=0
        )
        bids = procurement.bids(BIDS_PER_OPPORTUNITY)
        write_mark = db.one("SELECT coalesce(max(id), 0) FROM github_writes")
        stats0 = deployment.sim.stats()
        cpu0 = _cpu(deployment)
        report = deployment.post(bids)
        done_at = db.wait(lambda: db.pending_deliveries() == 0, 600)
        cpu1 = _cpu(deployment)
        drained_at = db.wait(lambda: db.pending_writes() == 0, 600)
        stats1 = deployment.sim.stats(stats0["total"])
        seconds = done_at - report["began_monotonic"]
        statuses = db.delivery_statuses()
        tokens = sum(stats1["token_requests"].values()) - sum(stats0["token_requests"].values())
        deliveries_total = sum(statuses.values())
        tokens_total = sum(stats1["token_requests"].values())  # since the simulated GitHub started, setup included
        return {
            "processes": workers,
            "bids": len(bids),
            "seconds": round(seconds, 2),
            "bids_per_s": round(len(bids) / seconds, 1),
            "intake_p50_ms": report["latency_ms"]["p50"],
            "intake_p99_ms": report["latency_ms"]["p99"],
            "posting_s": report["seconds"],
            "app_cpu_s": round(cpu1 - cpu0, 2),
            "app_cpu_ms_per_bid": round((cpu1 - cpu0) / len(bids) * 1000, 2),
            "writes_drained_after_s": round(drained_at - report["began_monotonic"], 2),
            "github_requests": stats1["count"],
            "github_requests_per_bid": round(stats1["count"] / len(bids), 3),
            "github_requests_by_kind": stats1["kinds"],
            "token_requests": tokens,
            "token_requests_whole_run": tokens_total,
            "deliveries_whole_run": deliveries_total,
            "token_requests_per_1000_deliveries": round(tokens_total / deliveries_total * 1000, 2) if deliveries_total else None,
            "writes": _writes(db, write_mark),
            "delivery_statuses": statuses,
        }
    finally:
        if deployment is not None:
            _stop(run, deployment, db)


def paced_drain(run: Run, url: str) -> dict:
    """The same 1,000 bids, GitHub writes paced at 1 s per installation: how long until all are sent."""
    deployment, db = None, None
    try:
        # Set up quickly, then restart with the real pacing before the bids.
        deployment, db, procurement = _prepare(run, url, installations=PACED_INSTALLATIONS, name="paced-setup", DEVEX_WRITE_INTERVAL=0)
        deployment.stop_app()
        deployment.start_app(name="paced", DEVEX_WRITE_INTERVAL=1.0)
        bids = procurement.bids(BIDS_PER_OPPORTUNITY)
        write_mark = db.one("SELECT coalesce(max(id), 0) FROM github_writes")
        stats0 = deployment.sim.stats()
        report = deployment.post(bids)
        done_at = db.wait(lambda: db.pending_deliveries() == 0, 600)
        drained_at = db.wait(lambda: db.pending_writes() == 0, 900, interval=0.1)
        stats1 = deployment.sim.stats(stats0["total"])
        writes = _writes(db, write_mark)
        sent = sum(n for k, n in writes.items() if k.endswith(" sent"))
        summary_edits = sum(n for k, n in writes.items() if k.startswith("summary "))
        per_installation = db.rows(
            "SELECT installation_id, count(*) FROM github_writes WHERE id > ? GROUP BY installation_id", (write_mark,)
        )
        busiest = max((n for _, n in per_installation), default=0)
        return {
            "installations": PACED_INSTALLATIONS,
            "write_interval_s": 1.0,
            "bids": len(bids),
            "bids_committed_s": round(done_at - report["began_monotonic"], 2),
            "drain_s": round(drained_at - report["began_monotonic"], 1),
            "writes": sent,
            "writes_by_kind": writes,
            "summary_edits": summary_edits,
            "writes_per_bid": round(sent / len(bids), 3),
            "busiest_installation_writes": busiest,
            "github_requests": stats1["count"],
            "github_requests_per_bid": round(stats1["count"] / len(bids), 3),
            "github_requests_by_kind": stats1["kinds"],
            "one_installation_drain_estimate_s": sent,  # writes x 1 s, all behind one installation
        }
    finally:
        if deployment is not None:
            _stop(run, deployment, db)


def run_endtoend(run: Run) -> dict:
    out: dict = {"opportunities": OPPORTUNITIES, "bids": OPPORTUNITIES * BIDS_PER_OPPORTUNITY, "runs": {}}
    url = f"sqlite:///{run.work}/e2e.db"
    migrate(url)
    run.log("end to end: SQLite, devex-bot serve (one process)")
    out["runs"]["sqlite_1"] = one_run(run, "sqlite", url, workers=1)
    run.log(f"  {out['runs']['sqlite_1']['bids_per_s']} bids/s")
    if pg_available():
        for workers in (1, 2):
            name, pg_url = pg_create(f"e2e{workers}")
            try:
                migrate(pg_url)
                run.log(f"end to end: PostgreSQL, {workers} worker process(es)")
                out["runs"][f"postgresql_{workers}"] = one_run(run, f"pg{workers}", pg_url, workers=workers)
                run.log(f"  {out['runs'][f'postgresql_{workers}']['bids_per_s']} bids/s")
            finally:
                pg_drop(name)
    else:
        run.notes.append("PostgreSQL not reachable: its end-to-end runs were skipped")
    if not run.quick:
        url = f"sqlite:///{run.work}/paced.db"
        migrate(url)
        run.log(f"end to end: GitHub writes drained with real pacing (1 s per installation, {PACED_INSTALLATIONS} installations)")
        out["paced"] = paced_drain(run, url)
        run.log(f"  {out['paced']['writes']} writes in {out['paced']['drain_s']} s")
    return out
