"""Evaluation: the evaluation issue, /score, /award, the award-review issue, /approve, /reject.

(Being built: see issues "Evaluation, the award-review issue, and approval" and
"Evaluators read the sealed proposals".)
"""

from __future__ import annotations

from bot.outcomes import Outcome, refuse


def open_evaluation_issue(ctx, opportunity) -> None:
    pass


def close_evaluation_issue(ctx, opportunity) -> None:
    pass


def withdraw_pending_award(ctx, opportunity, why: str) -> None:
    pass


def score(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")


def award(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")


def approve(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")


def reject(ctx, target, cmd, comment) -> Outcome:
    return refuse(cmd, "not_available")
