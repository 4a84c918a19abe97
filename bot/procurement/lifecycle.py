"""The opportunity lifecycle of PRODUCT.md "Lifecycle", as plain data and functions."""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    NEEDS_CHANGES = "needs-changes"
    # Valid, waiting for a finance officer's `/commit` (finance.commitment_required).
    NEEDS_COMMITMENT = "needs-commitment"
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

BEFORE_AWARD = frozenset({State.NEEDS_CHANGES, State.NEEDS_COMMITMENT, State.OPEN, State.EVALUATION, State.REVIEW})
# States in which the issue body is read again when edited.
VALIDATED = frozenset({State.NEEDS_CHANGES, State.NEEDS_COMMITMENT, State.OPEN})
FINAL = frozenset({State.COMPLETED, State.CANCELLED, State.TERMINATED})


def can_cancel(state: State) -> bool:
    return state in BEFORE_AWARD


def can_extend(state: State, live_proposals: int) -> bool:
    """Open or waiting for its funds, or in evaluation with no proposal: once proposals are
    revealed, bidding cannot reopen."""
    return state in (State.OPEN, State.NEEDS_COMMITMENT) or (state == State.EVALUATION and live_proposals == 0)


def can_edit_terms(state: State, live_proposals: int) -> bool:
    """Value, deadline and milestones change only while no proposal exists."""
    return state in VALIDATED and live_proposals == 0


def accepts_bids(state: State) -> bool:
    return state == State.OPEN


def takes_late_arrival(state: State) -> bool:
    """A bid written before the deadline that reaches the bot after bidding closed
    (GitHub delivered it late) still joins while the proposals are being evaluated,
    before any award is recommended."""
    return state == State.EVALUATION


def opens_to(commitment_required: bool, committed: bool) -> State:
    """Where a valid opportunity goes: open, or waiting for its funds to be committed (FAA s. 32)."""
    return State.NEEDS_COMMITMENT if commitment_required and not committed else State.OPEN
