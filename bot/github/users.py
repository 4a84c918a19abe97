"""Who a GitHub user object is: a bot (the app itself included) or a person."""

from __future__ import annotations

from typing import Any, Mapping


def is_bot(user: Mapping[str, Any] | None) -> bool:
    """Whether a GitHub user object is a bot: `type` "Bot", or a login ending in `[bot]`."""
    if not isinstance(user, Mapping):
        return False
    login = user.get("login")
    return user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))
