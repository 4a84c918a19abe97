"""Signed, expiring values for cookies and forms: the session, the sign-in state, the
cross-site token.

A signed value is `base64url(JSON).base64url(HMAC-SHA256)`, keyed by
`DEVEX_SECRET_KEY` and a purpose, so a value signed for one use (the sign-in
state) is never accepted for another (the session). Each carries its expiry;
an expired, altered or foreign value reads as None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any, Optional


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str):
        if not secret:
            raise ValueError("a signing key is required")
        self._secret = secret.encode("utf-8")

    def _mac(self, purpose: str, body: str) -> str:
        key = hmac.new(self._secret, purpose.encode("utf-8"), hashlib.sha256).digest()
        return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())

    def sign(self, purpose: str, value: dict[str, Any], now: datetime, lifetime: timedelta) -> str:
        data = dict(value, exp=int((now + lifetime).timestamp()))
        body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{body}.{self._mac(purpose, body)}"

    def read(self, purpose: str, signed: Optional[str], now: datetime) -> Optional[dict[str, Any]]:
        if not signed or len(signed) > 4096 or signed.count(".") != 1:
            return None
        body, mac = signed.split(".")
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(purpose, body).encode("ascii")):
            return None
        try:
            data = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] <= now.timestamp():
            return None
        return data

    def token(self, purpose: str, *parts: str) -> str:
        """A token tied to `parts` (e.g. a session's id), checked with `token_ok`."""
        return self._mac(purpose, _b64("\x1f".join(parts).encode("utf-8")))

    def token_ok(self, purpose: str, given: Optional[str], *parts: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode("ascii", "replace"), self.token(purpose, *parts).encode("ascii"))
