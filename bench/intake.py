"""Intake: signed `/bid` deliveries, 16 connections, acknowledged per second and time to the 2xx.

The same load, in the same run, against the bare ceiling (`bench.bare`),
`devex-bot serve` as the Procfile's web process runs it (the worker, sender
and scheduler threads in the same process, handling the bids as they come
in), `devex-bot serve --no-worker`, and `devex-bot serve` on PostgreSQL.
"""

from __future__ import annotations

from bench.context import Run
from bench.deploy import PYTHON, SECRET, _env, Database, Deployment, migrate, pg_available, pg_create, pg_drop, run_loadgen
from bench.procs import HOST, cpu_seconds, free_port, peak_rss_mb, wait_http
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


def _serve_row(run: Run, name: str, url: str, **options) -> dict:
    deployment = Deployment(run.procs, run.keys, url, run.work)
    try:
        deployment.start_sim()
        deployment.start_app(name=f"intake-{name}", **options)
        db = Database(url)
        try:
            _, bids = _bids(deployment)
            if not options.get("no_worker"):
                db.wait(lambda: db.pending_deliveries() == 0, 60)
            pid = deployment.app_proc.pid
            before = cpu_seconds(pid) or 0.0
            report = _load(run, deployment.app_port, bids)
            row = _summary(report, pid, before)
            row["backlog_after"] = db.pending_deliveries()
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
    port = free_port()
    bare = run.procs.start("intake-bare", [PYTHON, "-m", "bench.bare", "--port", str(port)], _env({"GITHUB_WEBHOOK_SECRET": SECRET}))
    try:
        wait_http(f"http://{HOST}:{port}/", bare)
        before = cpu_seconds(bare.pid) or 0.0
        rows["ceiling"] = _summary(_load(run, port, bids_for_ceiling), bare.pid, before)
    finally:
        run.procs.stop(bare)
    run.log(f"  {rows['ceiling']['rate']:.0f}/s p99 {rows['ceiling']['p99_ms']:.1f} ms")

    run.log("intake: devex-bot serve, SQLite (worker, sender, scheduler in the process)")
    rows["serve_sqlite"] = _serve_row(run, "sqlite", url)
    run.log(f"  {rows['serve_sqlite']['rate']:.0f}/s p99 {rows['serve_sqlite']['p99_ms']:.1f} ms, peak RSS {rows['serve_sqlite']['peak_rss_mb']} MB")

    url2 = f"sqlite:///{run.work}/intake-noworker.db"
    migrate(url2)
    run.log("intake: devex-bot serve --no-worker, SQLite")
    rows["serve_no_worker_sqlite"] = _serve_row(run, "noworker", url2, no_worker=True)
    run.log(f"  {rows['serve_no_worker_sqlite']['rate']:.0f}/s p99 {rows['serve_no_worker_sqlite']['p99_ms']:.1f} ms")

    if pg_available():
        name, pg_url = pg_create("intake")
        try:
            migrate(pg_url)
            run.log("intake: devex-bot serve, PostgreSQL")
            rows["serve_postgresql"] = _serve_row(run, "pg", pg_url)
            run.log(f"  {rows['serve_postgresql']['rate']:.0f}/s p99 {rows['serve_postgresql']['p99_ms']:.1f} ms")
        finally:
            pg_drop(name)
    else:
        run.notes.append("PostgreSQL not reachable: its intake row was skipped")

    ceiling = rows["ceiling"]["rate"]
    for key, row in rows.items():
        if key != "ceiling":
            row["ratio_to_ceiling"] = round(row["rate"] / ceiling, 3) if ceiling else None
    return {"connections": CONNECTIONS, "warmup_s": WARMUP, "duration_s": 4.0 if run.quick else DURATION, "rows": rows}
