"""Scores and ranking (PRODUCT.md), and pages of long bot text: plain values, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.stages.pages import paginate, split_text
from bot.procurement.ranking import Ranked, average, latest_scores, rank, split_contract

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def entry(bidder: str, amount: str, minutes: int, *scores: int) -> Ranked:
    latest = {f"e{i}": s for i, s in enumerate(scores)}
    return Ranked(bidder, Decimal(amount), T0 + timedelta(minutes=minutes), average(latest), latest)


def test_a_later_score_by_the_same_evaluator_replaces_the_earlier_one():
    history = [("Eve", 80, T0), ("ann", 60, T0), ("eve", 90, T0 + timedelta(hours=1))]
    assert latest_scores(history) == {"eve": 90, "ann": 60}
    assert average(latest_scores(history)) == Decimal("75.00")


def test_average_is_exact_to_the_hundredth():
    assert average({"a": 70, "b": 71, "c": 71}) == Decimal("70.67")
    assert average({}) is None


def test_rank_by_average_then_lower_amount_then_earlier_submission_unscored_last():
    ranked = rank(
        [
            entry("unscored-cheap", "100.00", 0),
            entry("late", "5000.00", 30, 80),
            entry("early", "5000.00", 10, 80),
            entry("cheaper", "4000.00", 40, 80),
            entry("best", "9000.00", 50, 95, 85),
        ]
    )
    assert [(r.bidder, r.rank) for r in ranked] == [("best", 1), ("cheaper", 2), ("early", 3), ("late", 4), ("unscored-cheap", 5)]


def test_milestone_shares_add_up_to_the_award_exactly():
    shares = split_contract(Decimal("9500.00"), Decimal("8000.00"), [Decimal("4500.00"), Decimal("5000.00")])
    assert shares == [Decimal("3789.47"), Decimal("4210.53")]
    assert sum(shares) == Decimal("8000.00")


def test_pages_cut_between_blocks_and_the_first_leaves_room_for_the_heading():
    blocks = ["a" * 40, "b" * 40, "c" * 40, "d" * 90]
    assert paginate(blocks, first=90, later=100) == [["a" * 40, "b" * 40], ["c" * 40], ["d" * 90]]
    assert paginate([], first=90, later=100) == [[]]
    # A block too long for the first page starts the next one; the first keeps only its heading.
    assert paginate(["x" * 95], first=90, later=100) == [[], ["x" * 95]]


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=30))
def test_pages_keep_every_block_in_order_within_the_limits(sizes):
    blocks = [str(i % 10) * size for i, size in enumerate(sizes)]
    placed = paginate(blocks, first=50, later=100)
    assert [b for page in placed for b in page] == blocks
    for i, page in enumerate(placed):
        limit = 50 if i == 0 else 100
        assert len("\n\n".join(page)) <= limit or len(page) == 1


@given(st.text(max_size=300), st.integers(min_value=1, max_value=50))
def test_split_text_joins_back_exactly(text, size):
    parts = split_text(text, size)
    assert "".join(parts) == text
    assert all(len(p) <= size for p in parts)
