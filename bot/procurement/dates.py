"""Deadlines: reading what an issuer types, writing it for each language.

A deadline is always an aware datetime. A bare date means "that day at the
repository's ``deadline_time`` in its ``timezone``", resolved with zoneinfo so
that a daylight-saving change is never an hour off. A date-time must carry
its offset: "14:00" alone does not say whose 14:00.

Failures are :class:`DateError` with a stable ``code``; the words live in
``templates/``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DATE_ERROR_CODES",
    "DateError",
    "format_datetime",
    "parse_deadline",
    "parse_time_of_day",
    "zone",
]

#: Every ``DateError.code`` this module raises (``templates/`` covers each).
DATE_ERROR_CODES = ("date_unreadable", "datetime_needs_offset", "time_unreadable")

# Longest text kept in an error's params (the message quotes it back).
MAX_QUOTED_CHARS = 100

# Markdown users wrap dates in backticks (`2026-12-01`); the value is inside.
WRAPPING_CHARS = " \t\r\n\u00a0\u202f`"

# Exactly YYYY-MM-DD. date.fromisoformat alone would also take 20261201 and
# week dates (2026-W49-2), which nobody means in an issue form.
DATE_RE = re.compile(
    r"""
    ^
    [0-9]{4}-[0-9]{2}-[0-9]{2}
    $
    """,
    re.VERBOSE,
)

# An ISO 8601 extended date-time: date, T (or a space, as people type it),
# hours and minutes, optional seconds and fraction, optional offset. The
# offset group is what separates an instant from an ambiguous wall time.
DATETIME_RE = re.compile(
    r"""
    ^
    [0-9]{4}-[0-9]{2}-[0-9]{2}
    [Tt\x20]
    [0-9]{2}:[0-9]{2}
    (?::[0-9]{2}(?:[.,][0-9]{1,6})?)?
    (?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?
    $
    """,
    re.VERBOSE,
)

# Configuration times: 14:00, 9:30, 14:00:00, and the French 14 h 00 / 14h.
TIME_OF_DAY_RE = re.compile(
    r"""
    ^
    (?P<hour>[0-9]{1,2})
    (?:
        :(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?
      | \x20?[hH](?:\x20?(?P<minute_fr>[0-9]{2}))?
    )
    $
    """,
    re.VERBOSE,
)


class DateError(ValueError):
    """A date that cannot be read; ``code`` and ``params`` feed the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, Any] = params


def _quoted(text: str) -> str:
    text = text.strip(WRAPPING_CHARS)
    if len(text) > MAX_QUOTED_CHARS:
        return text[:MAX_QUOTED_CHARS] + "…"
    return text


def zone(tz: str | tzinfo) -> tzinfo:
    """The tzinfo for a zone key such as ``America/Toronto`` (or a tzinfo as is).

    An unknown key raises ``zoneinfo.ZoneInfoNotFoundError``: zone keys come
    from the validated configuration, never from a user's comment.
    """
    if isinstance(tz, tzinfo):
        return tz
    return ZoneInfo(tz)


def _zone_name(tz: str | tzinfo) -> str:
    if isinstance(tz, str):
        return tz
    return getattr(tz, "key", None) or str(tz)


def parse_deadline(text: str, tz: str | tzinfo, deadline_time: time) -> datetime:
    """Read a proposal deadline into an aware datetime in UTC.

    ``YYYY-MM-DD`` is that date at ``deadline_time`` in ``tz``. On the rare
    wall times that a daylight-saving change makes ambiguous or skips, the
    wall times that a daylight-saving change makes ambiguous or skips, it raises
    ``DateError("local_time_ambiguous")`` or ``("local_time_nonexistent")``
    with the day, the time and the zone (a deadline must not silently move).

    An ISO 8601 date-time with an offset (``2026-12-01T14:00:00-05:00``,
    ``2026-12-01T19:00Z``) is taken as is; without an offset it raises
    ``DateError("datetime_needs_offset")``. Anything else raises
    ``DateError("date_unreadable")``. Surrounding whitespace and backticks
    are ignored.
    """
    if not isinstance(text, str):
        raise DateError("date_unreadable", text="")
    cleaned = text.strip(WRAPPING_CHARS)
    if DATE_RE.match(cleaned):
        try:
            day = date.fromisoformat(cleaned)
            local = datetime.combine(day, deadline_time.replace(tzinfo=None), zone(tz))
            instant = local.astimezone(UTC)
        except (ValueError, OverflowError):
            # 2026-02-30, or a date so near year 1 or 9999 that UTC overflows.
            raise DateError("date_unreadable", text=_quoted(text)) from None
        _exists_once(local, tz)
        return instant
    match = DATETIME_RE.match(cleaned)
    if match is None:
        raise DateError("date_unreadable", text=_quoted(text))
    if match["offset"] is None:
        raise DateError("datetime_needs_offset", text=_quoted(text))
    try:
        # fromisoformat reads "Z" since 3.11 but not a lower-case "t"/"z" or a
        # decimal comma; normalise those ISO 8601 variants first.
        moment = datetime.fromisoformat(cleaned.upper().replace(",", "."))
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise DateError("date_unreadable", text=_quoted(text)) from None


def _exists_once(local: datetime, tz: str | tzinfo) -> None:
    """A local wall time that a daylight-saving change skips (02:30 on a spring-forward
    night) or repeats (01:30 on a fall-back night) is refused, naming the day and zone:
    a deadline must not silently move or mean two instants."""
    params = {"day": local.date().isoformat(), "time": local.strftime("%H:%M"), "zone": _zone_name(tz)}
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise DateError("local_time_nonexistent", **params)
    if local.replace(fold=1).utcoffset() != local.replace(fold=0).utcoffset():
        raise DateError("local_time_ambiguous", **params)


def parse_time_of_day(text: str) -> time:
    """Read a configuration time of day: ``14:00``, ``9:30``, ``14:00:00``, ``14 h 00``.

    Raises ``DateError("time_unreadable")`` for anything else, including
    hours past 23 and minutes past 59.
    """
    if not isinstance(text, str):
        raise DateError("time_unreadable", text="")
    match = TIME_OF_DAY_RE.match(text.strip(WRAPPING_CHARS))
    if match is None:
        raise DateError("time_unreadable", text=_quoted(text))
    minute = match["minute"] or match["minute_fr"] or "0"
    try:
        return time(int(match["hour"]), int(minute), int(match["second"] or 0))
    except ValueError:
        raise DateError("time_unreadable", text=_quoted(text)) from None


def _clock(moment: datetime, language: str) -> str:
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if language == "fr":
        # French-Canadian usage writes the hour "14 h 00".
        return f"{day} {moment.hour:02d} h {moment.minute:02d}"
    return f"{day} {moment.hour:02d}:{moment.minute:02d}"


def format_datetime(dt: datetime, lang: str, tz: str | tzinfo) -> str:
    """Write an instant in UTC and in the repository's zone, for ``lang``.

    en: ``2026-12-01 19:00 UTC (2026-12-01 14:00 EST, America/Toronto)``
    fr: ``2026-12-01 19 h 00 UTC (2026-12-01 14 h 00 EST, America/Toronto)``

    The zone abbreviation is ``tzname()`` in both languages: inventing
    translations (HNE) for every zone would be guesswork. When the zone is
    UTC itself the parenthesis would only repeat it, so it is left out.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_datetime needs an aware datetime")
    code = lang.strip().lower()
    if code.startswith("fr"):
        language = "fr"
    elif code.startswith("en"):
        language = "en"
    else:
        raise ValueError(f"unsupported language {lang!r}")
    utc = dt.astimezone(UTC)
    text = f"{_clock(utc, language)} UTC"
    name = _zone_name(tz)
    if name in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"):
        return text
    local = dt.astimezone(zone(tz))
    return f"{text} ({_clock(local, language)} {local.tzname()}, {name})"
