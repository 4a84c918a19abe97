"""`devex-bot demo`, chapters 1 to 3: the opportunity is posted, bidders register and bid, the deadline passes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from demo.desk import bid_from_desk
from demo.scene import FINANCE_CONFIG, REPO, Procurement, opportunity_form


def post_and_bid(p: Procurement, say: Callable[[str], None]):
    """Plays chapters 1 to 3; returns the opportunity's issue number and the desk bidder's browser."""
    sim = p.sim
    sim.repositories[REPO]["files"][".github/devex.yml"] = FINANCE_CONFIG
    say("1. A product manager posts an opportunity with a mistake in it (the department requires funds committed first).")
    broken = sim.open_issue(REPO, "Accessible date fields on the benefits form", opportunity_form("9500.00", "2026-11-16", [("Design", "4500.00"), ("Build", "5000.00")]).replace("9,500.00", "12,500.00"), "pm-priya")
    number = broken["number"]
    p.act("label `opportunity`", sim.human_label(REPO, number, "pm-priya", "opportunity"))
    say("   She fixes the value.")
    p.act("edit the issue", sim.human_edit_issue(REPO, number, "pm-priya", opportunity_form("9500.00", "2026-11-16", [("Design", "4500.00"), ("Build", "5000.00")])))
    say("   Valid now, it waits for its funds (devex:needs-commitment): a bid is not taken yet.")
    p.comment(number, "dev-dana", "/register")
    p.comment(number, "dev-dana", "/bid 9,200.00\nToo early.")
    p.comment(number, "pm-priya", "/commit FC-2026-0117")
    say("   (refused: only a finance officer commits funds, FAA section 32)")
    p.comment(number, "finance-fatima", "/commit FC-2026-0117")
    say("   The funds are committed: the opportunity opens, the reference on its summary.")

    say("\n2. Three bidders register and bid (sealed: each /bid is recorded, removed, and receipted).")
    for login in ("studio-sam", "coder-chen"):
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
    desk = bid_from_desk(p, number, say)

    say("\n3. The deadline passes; the scheduler closes bidding with no webhook arriving.")
    p.wait_until(datetime(2026, 11, 16, 19, 0, 5, tzinfo=timezone.utc))
    return number, desk
