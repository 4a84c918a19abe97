"""Intake: signed `/bid` deliveries, 16 connections, acknowledged per second and time to the 2xx.

The same load, in the same run, against the bare ceiling (`bench.bare`), a
Probot app that acknowledges and stores nothing (`bench.probot`, where npm is
available), `devex-bot serve` as the Procfile's web process runs it (the
worker, sender and scheduler threads in the same process, handling the bids
as they come in), the same with deliveries nobody handles (not stored),
`devex-bot serve --no-worker`, and `devex-bot serve` on PostgreSQL.
"""

from __future__ import annotations

import copy
import json

from bench.context import Run
from bench.deploy import PYTHON, SECRET, _env, Database, Deployment, delivery, migrate, pg_available, pg_create, pg_drop, run_loadgen
from bench.probot import start_probot
from bench.procs import HOST, ROOT, cpu_seconds, free_port, peak_rss_mb, wait_http
from bench.scenario import Procurement

CONNECTIONS = 16
WARMUP = 2.0
DURATION = 10.0
BODIES = 200


def _load(run: Run, port: int, deliveries: list[dict]) -> dict:
    duration = 4.0 if run.quick else DURATION
    spec = {
        "port": port,
        "connections": CONNECTIONS,
        "mode": "duration",
        "warmup": WARMUP,
        "duration": duration,
        "deliveries": deliveries,
        "timeout": 60,
    }
    return run_loadgen(spec, run.work)


def _summary(report: dict, pid: int, cpu_before: float) -> dict:
    cpu = (cpu_seconds(pid) or 0.0) - cpu_before
    return {
        "rate": report["rate"],
        "p50_ms": report["latency_ms"]["p50"],
        "p90_ms": report["latency_ms"]["p90"],
        "p99_ms": report["latency_ms"]["p99"],
        "max_ms": report["latency_ms"]["max"],
        "requests": report["requests"],
        "statuses": report["statuses"],
        "server_cpu_s": round(cpu, 2),
        "peak_rss_mb": round(peak_rss_mb(pid) or 0.0, 1),
        "loadgen_cpu_per_request_us": report["cpu_per_request_us"],
    }


def _bids(deployment: Deployment) -> list[dict]:
    procurement = Procurement(deployment, opportunities=20, installations=1, bidders=50)
    procurement.seed()
    deployment.post(procurement.open_all())
    deployment.post(procurement.register_all())
    return procurement, procurement.bids(BODIES // 20)


FIXTURES = ROOT / "tests" / "fixtures" / "github-payloads"


def _fixture(event: str, name: str) -> dict:
    return json.loads((FIXTURES / event / f"{name}.payload.json").read_text())


def _unhandled(deployment: Deployment) -> list[dict]:
    """Deliveries nobody handles, in turn: comments without a command (on the same
    opportunities as the bids), pushes that do not touch the configuration, and
    events of other kinds. Each is answered 200 and not stored."""
    procurement = Procurement(deployment, opportunities=20, installations=1, bidders=50)
    procurement.seed()
    deployment.post(procurement.open_all())
    chat = [
        {"kind": "comment", "repo": r, "number": n, "login": f"bidder-{i:03d}", "body": "Thanks, could you say more about the runners you use?"}
        for i, (r, n) in enumerate(procurement.numbers)
    ]
    comments = [delivery(e, p) for e, p in deployment.sim.human(chat)]
    repo = procurement.repos[0]
    push = _fixture("push", "with-new-branch")
    push["repository"]["full_name"] = repo
    push["installation"] = {"id": 5000}
    assigned = _fixture("issues", "assigned.with-installation")
    assigned["repository"]["full_name"] = repo
    assigned["installation"] = {"id": 5000}
    others = []
    for i in range(len(comments)):
        p = copy.deepcopy(push)
        p["after"] = f"{i:040x}"
        others.append(delivery("push", p))
        others.append(delivery("issues" if i % 2 else "star", assigned))
    return None, [d for trio in zip(comments, others[0::2], others[1::2]) for d in trio]


def _serve_row(run: Run, name: str, url: str, deliveries=_bids, **options) -> dict:
    deployment = Deployment(run.procs, run.keys, url, run.work)
    try:
        deployment.start_sim()
        deployment.start_app(name=f"intake-{name}", **options)
        db = Database(url)
        try:
            _, bids = deliveries(deployment)
            if not options.get("no_worker"):
                db.wait(lambda: db.pending_deliveries() == 0, 60)
            pid = deployment.app_proc.pid
            before = cpu_seconds(pid) or 0.0
            rows_before = db.one("SELECT count(*) FROM deliveries")
            report = _load(run, deployment.app_port, bids)
            row = _summary(report, pid, before)
            row["backlog_after"] = db.pending_deliveries()
            row["stored_during_run"] = db.one("SELECT count(*) FROM deliveries") - rows_before
            return row
        finally:
            db.close()
    finally:
        deployment.stop_app()
        if deployment.sim_proc is not None:
            run.procs.stop(deployment.sim_proc)


def run_intake(run: Run) -> dict:
    rows = {}
    # The deliveries: real-shaped /bid comments from the simulated GitHub.
    url = f"sqlite:///{run.work}/intake.db"
    migrate(url)

    run.log("intake: ceiling (bare Starlette, signature check, 202)")
    bids_for_ceiling = None
    probe = Deployment(run.procs, run.keys, url, run.work)
    probe.start_sim()
    try:
        procurement = Procurement(probe, opportunities=20, installations=1, bidders=50)
        procurement.seed()
        bids_for_ceiling = procurement.bids(BODIES // 20)
    finally:
        run.procs.stop(probe.sim_proc)
    ceilings: list[dict] = []

    def ceiling() -> None:
        """The bare ceiling once more: measured before the first row and after every row,
        so each row is compared with the ceilings just before and just after it (this
        machine's speed drifts by a third within minutes; one ceiling for the whole
        section made a row's ratio depend on when the ceiling happened to be taken)."""
        port = free_port()
        bare = run.procs.start("intake-bare", [PYTHON, "-m", "bench.bare", "--port", str(port)], _env({"GITHUB_WEBHOOK_SECRET": SECRET}))
        try:
            wait_http(f"http://{HOST}:{port}/", bare)
            before = cpu_seconds(bare.pid) or 0.0
            ceilings.append(_summary(_load(run, port, bids_for_ceiling), bare.pid, before))
        finally:
            run.procs.stop(bare)
        run.log(f"  ceiling {ceilings[-1]['rate']:.0f}/s p99 {ceilings[-1]['p99_ms']:.1f} ms")

    measured_between: dict[str, int] = {}  # row -> index of the ceiling before it

    def row(key: str, measure) -> None:
        measured_between[key] = len(ceilings) - 1
        rows[key] = measure()
        ceiling()

    ceiling()
    rows["ceiling"] = ceilings[0]

    run.log("intake: Probot (an app whose handler returns at once, storing nothing)")
    probot, why_not = start_probot(run, SECRET)
    if probot is None:
        run.notes.append(f"Probot skipped: {why_not}")
        run.log(f"  skipped: {why_not}")
    else:
        proc, probot_port = probot

        def probot_row() -> dict:
            try:
                before = cpu_seconds(proc.pid) or 0.0
                return _summary(_load(run, probot_port, bids_for_ceiling), proc.pid, before)
            finally:
                run.procs.stop(proc)

        row("probot", probot_row)
        run.log(f"  {rows['probot']['rate']:.0f}/s p99 {rows['probot']['p99_ms']:.1f} ms")

    run.log("intake: devex-bot serve, SQLite (worker, sender, scheduler in the process)")
    row("serve_sqlite", lambda: _serve_row(run, "sqlite", url))
    run.log(f"  {rows['serve_sqlite']['rate']:.0f}/s p99 {rows['serve_sqlite']['p99_ms']:.1f} ms, peak RSS {rows['serve_sqlite']['peak_rss_mb']} MB")

    url_unhandled = f"sqlite:///{run.work}/intake-unhandled.db"
    migrate(url_unhandled)
    run.log("intake: devex-bot serve, SQLite, deliveries nobody handles (chat comments, pushes, other events)")
    row("serve_sqlite_unhandled", lambda: _serve_row(run, "unhandled", url_unhandled, deliveries=_unhandled))
    run.log(f"  {rows['serve_sqlite_unhandled']['rate']:.0f}/s p99 {rows['serve_sqlite_unhandled']['p99_ms']:.1f} ms")

    url2 = f"sqlite:///{run.work}/intake-noworker.db"
    migrate(url2)
    run.log("intake: devex-bot serve --no-worker, SQLite")
    row("serve_no_worker_sqlite", lambda: _serve_row(run, "noworker", url2, no_worker=True))
    run.log(f"  {rows['serve_no_worker_sqlite']['rate']:.0f}/s p99 {rows['serve_no_worker_sqlite']['p99_ms']:.1f} ms")

    if pg_available():
        name, pg_url = pg_create("intake")
        try:
            migrate(pg_url)
            run.log("intake: devex-bot serve, PostgreSQL")
            row("serve_postgresql", lambda: _serve_row(run, "pg", pg_url))
            run.log(f"  {rows['serve_postgresql']['rate']:.0f}/s p99 {rows['serve_postgresql']['p99_ms']:.1f} ms")
        finally:
            pg_drop(name)
    else:
        run.notes.append("PostgreSQL not reachable: its intake row was skipped")

    for key, i in measured_between.items():
        # Against the mean of the ceilings measured just before and just after the row.
        beside = (ceilings[i]["rate"] + ceilings[i + 1]["rate"]) / 2
        rows[key]["ceiling_beside"] = round(beside, 1)
        rows[key]["ratio_to_ceiling"] = round(rows[key]["rate"] / beside, 3) if beside else None
    rates = [c["rate"] for c in ceilings]
    return {
        "connections": CONNECTIONS,
        "warmup_s": WARMUP,
        "duration_s": 4.0 if run.quick else DURATION,
        "ceilings": rates,
        "rows": rows,
    }
