"""`devex-bot demo`, chapters 7 to 11, after the award: pay on pull, /paid, an overdue payment, the completed opportunity."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from demo.scene import REPO, Procurement


def _newest(p: Procurement) -> int:
    """The number of the newest issue or pull request."""
    return max(p.sim.issues[REPO])


def pay_on_pull(p: Procurement, number: int, say: Callable[[str], None]) -> None:
    """Plays chapters 7 to 11 on the opportunity `number`, once its award is approved."""
    sim = p.sim
    say("\n7. Pull requests name the opportunity; the bot says on each what merging it would pay.")
    p.wait_until(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))
    p.act(
        "@visitor-vic opens a pull request `Closes #%d`" % number,
        sim.human_open_pull_request(REPO, "Make the date fields accessible", f"Quick fix.\n\nCloses #{number}", "visitor-vic", head_repo="visitor-vic/digital-forms"),
    )
    say(f"   (#{_newest(p)} pays nothing: its author is not the contractor)")
    p.act(
        "@dev-dana opens a pull request from her fork `Fixes #%d`, `Milestone: Design`" % number,
        sim.human_open_pull_request(
            REPO, "Audit of the date fields", f"The NVDA and VoiceOver audit.\n\nFixes #{number}\nMilestone: Design", "dev-dana", head_repo="dev-dana/digital-forms"
        ),
    )
    design = _newest(p)

    say("\n8. A maintainer merges it: milestone 1 is accepted and its payment recorded, awaiting certification.")
    p.wait_until(datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc))
    p.act(f"@pm-priya merges #{design}", sim.human_merge_pull_request(REPO, design, "pm-priya"))
    p.comment(number, "finance-fatima", "/paid 1 EFT-2026-118342")
    say("   (refused: no one has certified the work yet, FAA section 34)")
    p.comment(number, "dev-dana", "/certify 1")
    say("   (refused: the contractor does not certify her own work)")
    p.comment(number, "pm-priya", "/certify 1")
    say("   The technical authority certifies it: payment 1 is payable, due 30 days from now.")

    say("\n9. The second pull request earns the last milestone: the opportunity is completed.")
    p.act(
        "@dev-dana opens a pull request `Opportunity: #%d`" % number,
        sim.human_open_pull_request(
            REPO, "Rebuild the date fields", f"Rebuilt on the GC design system, axe tests in CI.\n\nOpportunity: #{number}", "dev-dana", head_repo="dev-dana/digital-forms"
        ),
    )
    build = _newest(p)
    p.wait_until(datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc))
    p.act(f"@pm-priya merges #{build}", sim.human_merge_pull_request(REPO, build, "pm-priya"))
    p.comment(number, "eval-emma", "/certifier 2")

    say("\n10. Finance pays the first payment; a finance officer records it.")
    p.wait_until(datetime(2026, 12, 18, 14, 0, tzinfo=timezone.utc))
    p.comment(number, "pm-priya", "/paid 1 EFT-2026-118342")
    say("   (refused: only contract officers and finance officers record payments)")
    p.comment(number, "finance-fatima", "/paid 1 EFT-2026-118342")

    say("\n11. The second payment passes its due date unpaid: the scheduler says so once, on the opportunity.")
    p.wait_until(datetime(2027, 1, 4, 15, 0, tzinfo=timezone.utc))
    p.wait_until(datetime(2027, 1, 5, 15, 0, tzinfo=timezone.utc))
