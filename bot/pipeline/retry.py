"""How long a failed step waits before its next attempt: one formula for the
worker's deliveries and the sender's writes."""

from __future__ import annotations


def backoff(attempts: int, base: float, cap: float) -> float:
    """`base` doubling with each attempt already made, never above `cap`."""
    return min(cap, base * 2 ** min(max(0, attempts), 30))
