"""The opportunity lifecycle of PRODUCT.md "Lifecycle", as plain data and functions."""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    NEEDS_CHANGES = "needs-changes"
    OPEN = "open"
    EVALUATION = "evaluation"
    REVIEW = "review"
    AWARDED = "awarded"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return f"devex:{self.value}"


LABEL_PREFIX = "devex:"
STATE_LABELS = frozenset(s.label for s in State)
# Labels of the issues the bot creates, not states of an opportunity.
EVALUATION_LABEL = "devex:evaluation"
AWARD_REVIEW_LABEL = "devex:award-review"

BEFORE_AWARD = frozenset({State.NEEDS_CHANGES, State.OPEN, State.EVALUATION, State.REVIEW})
FINAL = frozenset({State.COMPLETED, State.CANCELLED, State.TERMINATED})


def can_cancel(state: State) -> bool:
    return state in BEFORE_AWARD


def can_extend(state: State, live_proposals: int) -> bool:
    """Open, or in evaluation with no proposal: once proposals are revealed, bidding cannot reopen."""
    return state == State.OPEN or (state == State.EVALUATION and live_proposals == 0)


def can_edit_terms(state: State, live_proposals: int) -> bool:
    """Value, deadline and milestones change only while no proposal exists."""
    return state in (State.NEEDS_CHANGES, State.OPEN) and live_proposals == 0


def accepts_bids(state: State) -> bool:
    return state == State.OPEN


def takes_late_arrival(state: State) -> bool:
    """A bid written before the deadline that reaches the bot after bidding closed
    (GitHub delivered it late) still joins while the proposals are being evaluated,
    before any award is recommended."""
    return state == State.EVALUATION
