"""`devex-bot demo`: a whole procurement on a local SQLite file, GitHub simulated.

The chapters play in order on one stage (`demo.scene`): the opportunity and
its bids (`demo.bidding`), evaluation and the award (`demo.award`), pay on
pull and the payments (`demo.payments`). At the end it prints each issue
thread as GitHub would show it, writes the exports and writes the public board
as static files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlmodel import Session

from bot.stages.exports import COLUMNS, EXPORTS, write
from bot.web.export import export
from demo.award import evaluate_and_award
from demo.bidding import post_and_bid
from demo.desk import read_debrief
from demo.payments import pay_on_pull
from demo.scene import REPO, Procurement


def run_demo(database: Path, out: Path, say: Callable[[str], None] = print) -> int:
    p = Procurement(database, say)
    sim = p.sim
    say("devex-bot demo: a whole procurement, from label to payment, GitHub simulated.\n")
    number, desk = post_and_bid(p, say)
    evaluate_and_award(p, number, say)
    read_debrief(p, desk, say)
    pay_on_pull(p, number, say)

    say("\n" + "=" * 72)
    say("The issue threads, as GitHub shows them:\n")
    for issue_number in sorted(sim.issues[REPO]):
        say(sim.render_thread(REPO, issue_number))

    out.mkdir(parents=True, exist_ok=True)
    with Session(p.engine) as session:
        for name, rows_of in EXPORTS.items():
            # The demo's clock, not the wall clock, says which payments are overdue.
            rows = rows_of(session, p.clock()) if name == "payments" else rows_of(session)
            for fmt in ("csv", "json"):
                path = out / f"{name}.{fmt}"
                with open(path, "w", newline="", encoding="utf-8") as handle:
                    write(rows, fmt, handle, COLUMNS[name])
            say(f"wrote {out / name}.csv and .json ({len(rows)} rows)")
    # The public board, as a department would publish it on its own site.
    board = out / "board"
    files = export(p.engine, board, base_url=None)
    say(f"wrote the public board to {board} ({files} files): open {board / 'index.html'} in a browser")
    say(f"\nThe database is {database}; GitHub received {len(sim.requests)} requests ({sum(sim.token_requests.values())} token request).")
    return 0
