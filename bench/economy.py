"""GitHub economy: the requests each kind of delivery costs, counted at the simulated GitHub.

One opportunity walked through its life, one delivery at a time; after each,
the worker and the sender are let finish (`DEVEX_WRITE_INTERVAL=0`), and the
requests the simulated GitHub received meanwhile are that delivery's cost,
reads and writes, with nothing coalesced. A step whose effect did not happen
(the feature not there yet, or refused) says so.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from bench.context import Run
from bench.deploy import Database, Deployment, delivery, migrate
from bench.scenario import ISSUER, Procurement, bid_text, bidder

OFFICER = "officer-olga"


def run_economy(run: Run) -> dict:
    url = f"sqlite:///{run.work}/economy.db"
    migrate(url)
    deployment = Deployment(run.procs, run.keys, url, run.work)
    db = None
    steps: list[dict] = []
    try:
        sim = deployment.start_sim()
        deployment.start_app(name="economy", DEVEX_WRITE_INTERVAL=0, DEVEX_SCHEDULER_INTERVAL=0.2, DEVEX_POLL_INTERVAL=0.05)
        db = Database(url)
        procurement = Procurement(deployment, opportunities=1, installations=1, bidders=3)
        procurement.seed()
        repo, number = procurement.numbers[0]
        sim.setup(permissions=[[repo, OFFICER, "admin"]])

        def settle() -> None:
            db.wait(lambda: db.pending_deliveries() == 0 and db.pending_writes() == 0, 60, interval=0.01)

        def step(name: str, deliveries: list[dict], effect=None, trigger=None) -> dict:
            settle()
            before = sim.stats()
            statuses = {}
            if deliveries:
                statuses = deployment.post(deliveries, connections=1)["statuses"]
            if trigger is not None:
                trigger()
            settle()
            after = sim.stats(before["total"])
            happened = effect() if effect else True
            row = {
                "step": name,
                "deliveries": len(deliveries),
                "requests": after["count"],
                "per_delivery": round(after["count"] / max(1, len(deliveries)), 2),
                "by_kind": after["kinds"],
                "token_requests": sum(after["token_requests"].values()) - sum(before["token_requests"].values()),
                "answered": statuses,
                "effect": happened,
            }
            steps.append(row)
            run.log(f"  {name}: {row['per_delivery']} request(s) per delivery{'' if happened is True else f' ({happened})'}")
            return row

        def comment(login: str, body: str, on: int = number) -> list[dict]:
            return [delivery(e, p) for e, p in sim.human([{"kind": "comment", "repo": repo, "number": on, "login": login, "body": body}])]

        def count(sql: str) -> int:
            return db.one(sql)

        def effect(sql: str, want: int, missing: str):
            return lambda: True if count(sql) >= want else missing

        run.log("economy: one opportunity, one delivery at a time")
        step("opportunity opened (labelled)", procurement.open_all(), effect("SELECT count(*) FROM opportunities WHERE state = 'open'", 1, "not opened"))
        step("/register", comment(bidder(0), "/register"), effect("SELECT count(*) FROM registrations", 1, "not registered"))
        step("/bid, the bidder's first", comment(bidder(0), bid_text(8000)), effect("SELECT count(*) FROM proposal_versions", 1, "not recorded"))
        step("/bid, replacing it", comment(bidder(0), bid_text(7900, 1)), effect("SELECT count(*) FROM proposal_versions", 2, "not recorded"))
        deployment.post(comment(bidder(1), "/register") + comment(bidder(2), "/register"), connections=1)
        step("/bid, another bidder's first", comment(bidder(1), bid_text(8500, 2)), effect("SELECT count(*) FROM proposals", 2, "not recorded"))
        deployment.post(comment(bidder(2), bid_text(9000, 3)), connections=1)
        step("/withdraw", comment(bidder(2), "/withdraw"), effect("SELECT count(*) FROM proposals WHERE status = 'withdrawn'", 1, "not withdrawn"))

        def deadline_passes() -> None:
            """Moved into the past in the database; the scheduler notices."""
            conn = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
            try:
                past = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE opportunities SET deadline = ? WHERE issue_number = ?", (past, number))
                conn.execute("COMMIT")
            finally:
                conn.close()
            db.wait(lambda: count("SELECT count(*) FROM deliveries WHERE event = 'devex.deadline'") >= 1, 30, interval=0.05)

        step(
            "deadline passed (scheduler)",
            [],
            effect("SELECT count(*) FROM opportunities WHERE state = 'evaluation'", 1, "still open"),
            trigger=deadline_passes,
        )

        step("/score", comment(ISSUER, f"/score @{bidder(0)} 90 clear plan"), effect("SELECT count(*) FROM scores", 1, "no score recorded"))
        step("/award", comment(ISSUER, f"/award @{bidder(0)}"), effect("SELECT count(*) FROM awards WHERE review_issue_number IS NOT NULL", 1, "no award-review issue"))
        review = db.rows("SELECT review_issue_number FROM awards WHERE review_issue_number IS NOT NULL")
        if review:
            step("/approve", comment(OFFICER, "/approve", on=review[0][0]), effect("SELECT count(*) FROM awards WHERE status = 'approved'", 1, "not approved"))
        else:
            steps.append({"step": "/approve", "effect": "no award-review issue to approve on", "requests": None, "per_delivery": None})
        opened = sim.human([{"kind": "open_pull_request", "repo": repo, "title": "Faster build", "body": f"Closes #{number}\nMilestone: 1", "login": bidder(0)}])
        step("pull request opened", [delivery(e, p) for e, p in opened])
        pr_number = opened[0][1]["number"]
        approved = sim.human([{"kind": "review", "repo": repo, "number": pr_number, "login": ISSUER}])
        step("pull request approved", [delivery(e, p) for e, p in approved])
        merged = sim.human([{"kind": "merge_pull_request", "repo": repo, "number": pr_number, "merged_by": ISSUER}])
        step("pull request merged", [delivery(e, p) for e, p in merged], effect("SELECT count(*) FROM payments", 1, "no payment recorded"))
        return {"steps": steps}
    finally:
        if db is not None:
            db.close()
        deployment.stop_app()
        if deployment.sim_proc is not None:
            run.procs.stop(deployment.sim_proc)
