"""Who a GitHub user object is: a bot (the app itself included) or a person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_bot(user: Mapping[str, Any] | None) -> bool:
    """Whether a GitHub user object is a bot: `type` "Bot", or a login ending in `[bot]`."""
    if not isinstance(user, dict) and not isinstance(user, Mapping):  # a dict first: 0.06 µs, not 0.5
        return False
    login = user.get("login")
    return user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))
