"""Signed links: confirming a subscription (expires) and unsubscribing (does not).

A token is `PURPOSE.SUBSCRIPTION.EXPIRES.SIGNATURE`, the signature an HMAC-SHA256
with `DEVEX_SECRET_KEY` over the rest, so it can be neither forged nor turned
to another purpose or subscription. Reading one gives the subscription, or
why not (`bad`, `expired`); nothing is looked up before the signature holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

CONFIRM = "c"
UNSUBSCRIBE = "u"
# How long a confirmation link works (the subscription is forgotten after).
CONFIRM_TTL = timedelta(days=7)

TOKEN = re.compile(r"^(?P<purpose>[a-z])\.(?P<id>[0-9]{1,18})\.(?P<expires>[0-9]{1,12})\.(?P<signature>[A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Reading:
    subscription_id: Optional[int] = None
    problem: Optional[str] = None  # bad, expired


def _signature(key: str, body: str) -> str:
    digest = hmac.new(key.encode(), b"alert-link|" + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make(key: str, purpose: str, subscription_id: int, expires: Optional[datetime] = None) -> str:
    body = f"{purpose}.{subscription_id}.{int(expires.timestamp()) if expires else 0}"
    return f"{body}.{_signature(key, body)}"


def confirmation(key: str, subscription_id: int, created_at: datetime) -> str:
    return make(key, CONFIRM, subscription_id, created_at + CONFIRM_TTL)


def unsubscribe(key: str, subscription_id: int) -> str:
    return make(key, UNSUBSCRIBE, subscription_id)


def read(key: str, purpose: str, token: Optional[str], now: datetime) -> Reading:
    match = TOKEN.match((token or "").strip())
    if match is None or match["purpose"] != purpose:
        return Reading(problem="bad")
    body = f"{match['purpose']}.{match['id']}.{match['expires']}"
    if not hmac.compare_digest(_signature(key, body), match["signature"]):
        return Reading(problem="bad")
    expires = int(match["expires"])
    if expires and datetime.fromtimestamp(expires, timezone.utc) <= now:
        return Reading(subscription_id=int(match["id"]), problem="expired")
    return Reading(subscription_id=int(match["id"]))
