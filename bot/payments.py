"""Pay on pull: pull requests tied to milestones, payments, /paid, /terminate, overdue notices.

(Being built: see issue "Pay on pull".)
"""

from __future__ import annotations

from bot.outcomes import Outcome, refuse


def paid(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")


def terminate(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")
