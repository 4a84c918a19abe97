"""GitHub's timestamps (`2026-12-01T14:00:00Z`) read into aware datetimes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional


def parse_timestamp(text: Any) -> Optional[datetime]:
    """An aware UTC datetime, or None when `text` is not a GitHub timestamp."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc)
