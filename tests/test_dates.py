"""Deadlines across time zones and daylight-saving changes (bot.procurement.dates)."""

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.procurement.dates import (
    DATE_ERROR_CODES,
    DateError,
    format_datetime,
    parse_deadline,
    parse_time_of_day,
)

TORONTO = "America/Toronto"
TWO_PM = time(14, 0)


def test_a_date_closes_at_deadline_time_in_the_repository_zone() -> None:
    deadline = parse_deadline("2026-12-01", TORONTO, TWO_PM)
    assert deadline == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # EST is UTC-5
    assert deadline.tzinfo is UTC


def test_zone_may_be_given_as_zoneinfo() -> None:
    assert parse_deadline("2026-07-01", ZoneInfo("America/Vancouver"), time(9, 30)) == datetime(
        2026, 7, 1, 16, 30, tzinfo=UTC
    )


def test_deadline_on_the_day_daylight_saving_ends() -> None:
    # 2026-11-01: Toronto falls back from EDT (UTC-4) to EST (UTC-5) at 02:00.
    before = parse_deadline("2026-10-31", TORONTO, TWO_PM)
    on_the_day = parse_deadline("2026-11-01", TORONTO, TWO_PM)
    assert before == datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
    assert on_the_day == datetime(2026, 11, 1, 19, 0, tzinfo=UTC)
    # Calendar days apart by one, instants by 25 hours: the wall clock holds.
    assert on_the_day - before == timedelta(hours=25)


def test_deadline_across_the_spring_forward_change() -> None:
    # 2026-03-08: Toronto springs forward from EST to EDT at 02:00.
    before = parse_deadline("2026-03-07", TORONTO, TWO_PM)
    after = parse_deadline("2026-03-08", TORONTO, TWO_PM)
    assert before == datetime(2026, 3, 7, 19, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
    assert after - before == timedelta(hours=23)


def test_wall_times_that_dst_makes_ambiguous_or_skips_are_refused_naming_the_day_and_zone() -> None:
    # 01:30 happens twice on 2026-11-01; 02:30 does not happen on 2026-03-08: a deadline
    # must neither mean two instants nor silently move.
    with pytest.raises(DateError) as repeated:
        parse_deadline("2026-11-01", TORONTO, time(1, 30))
    assert (repeated.value.code, repeated.value.params) == ("local_time_ambiguous", {"day": "2026-11-01", "time": "01:30", "zone": "America/Toronto"})
    with pytest.raises(DateError) as skipped:
        parse_deadline("2026-03-08", TORONTO, time(2, 30))
    assert (skipped.value.code, skipped.value.params) == ("local_time_nonexistent", {"day": "2026-03-08", "time": "02:30", "zone": "America/Toronto"})
    # The hours around them are taken.
    assert parse_deadline("2026-03-08", TORONTO, time(3, 30)) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T14:00:00-05:00", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01T19:00:00Z", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01T19:00Z", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01t19:00z", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01 14:00-05:00", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01T20:30:00+01:30", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("2026-12-01T19:00:00.250Z", datetime(2026, 12, 1, 19, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_a_date_time_with_offset_is_taken_as_is(text: str, expected: datetime) -> None:
    # The repository's zone and deadline time play no part.
    deadline = parse_deadline(text, "Asia/Tokyo", time(9, 0))
    assert deadline == expected
    assert deadline.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", [" 2026-12-01 ", "`2026-12-01`", "\n`2026-12-01`\t"])
def test_whitespace_and_backticks_are_ignored(text: str) -> None:
    assert parse_deadline(text, TORONTO, TWO_PM) == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-12-01T14:00", "2026-12-01 14:00:00", "`2026-12-01T14:00:00`"])
def test_a_date_time_without_offset_needs_one(text: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_deadline(text, TORONTO, TWO_PM)
    assert caught.value.code == "datetime_needs_offset"
    assert caught.value.params["text"] == text.strip("`")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2026-02-30",
        "2026-13-01",
        "20261201",  # basic format: fromisoformat takes it, people do not mean it
        "2026-W49-2",
        "01/12/2026",
        "2026-12-01T25:00Z",
        "2026-12-01T14:00+25:00",
        "0001-01-01T00:00+05:00",  # before year 1 in UTC
        "２０２６-１２-０１",  # full-width digits
        "2026-12-01 at 2pm",
    ],
)
def test_unreadable_dates(text: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_deadline(text, TORONTO, TWO_PM)
    assert caught.value.code == "date_unreadable"


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_parse_deadline_raises_only_date_error(text: str) -> None:
    try:
        deadline = parse_deadline(text, TORONTO, TWO_PM)
    except DateError as error:
        assert error.code in DATE_ERROR_CODES
    else:
        assert deadline.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1900, 1, 2), max_value=date(9999, 12, 30)),
    at=st.times(),
    zone=st.sampled_from([TORONTO, "America/Vancouver", "America/St_Johns", "Europe/Paris", "UTC"]),
)
def test_a_date_always_closes_on_that_local_day(day: date, at: time, zone: str) -> None:
    deadline = parse_deadline(day.isoformat(), zone, at)
    local = deadline.astimezone(ZoneInfo(zone))
    assert local.date() == day
    # Only a skipped wall time may move, and by at most the size of the gap.
    moved = datetime.combine(day, local.time()) - datetime.combine(day, at)
    assert timedelta(0) <= moved <= timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:00", time(14, 0)),
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("14:00:30", time(14, 0, 30)),
        ("14 h 00", time(14, 0)),
        ("14h00", time(14, 0)),
        ("14h", time(14, 0)),
        (" 0:00 ", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_time_of_day(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize("text", ["", "24:00", "14:60", "14", "2pm", "14:0", "1400", "-1:00"])
def test_unreadable_times_of_day(text: str) -> None:
    with pytest.raises(DateError) as caught:
        parse_time_of_day(text)
    assert caught.value.code == "time_unreadable"


def test_format_datetime_shows_utc_and_local_time() -> None:
    moment = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert format_datetime(moment, "en", TORONTO) == "2026-12-01 19:00 UTC (2026-12-01 14:00 EST, America/Toronto)"
    assert (
        format_datetime(moment, "fr", TORONTO)
        == "2026-12-01 19 h 00 UTC (2026-12-01 14 h 00 EST, America/Toronto)"
    )


def test_format_datetime_in_summer_and_across_midnight() -> None:
    moment = datetime(2026, 7, 2, 2, 5, tzinfo=UTC)
    assert format_datetime(moment, "en", ZoneInfo(TORONTO)) == (
        "2026-07-02 02:05 UTC (2026-07-01 22:05 EDT, America/Toronto)"
    )


def test_format_datetime_converts_any_aware_input() -> None:
    moment = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert format_datetime(moment, "en-CA", TORONTO).startswith("2026-12-01 19:00 UTC")


def test_format_datetime_in_utc_does_not_repeat_itself() -> None:
    moment = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert format_datetime(moment, "en", "UTC") == "2026-12-01 19:00 UTC"
    assert format_datetime(moment, "fr", "UTC") == "2026-12-01 19 h 00 UTC"


def test_format_datetime_refuses_naive_datetimes_and_unknown_languages() -> None:
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 12, 1, 19, 0), "en", TORONTO)
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 12, 1, 19, 0, tzinfo=UTC), "es", TORONTO)
