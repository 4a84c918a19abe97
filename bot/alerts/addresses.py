"""Email addresses: read from the form, and named only by a keyed hash anywhere but the send.

An address is needed to send to it, and for nothing else: logs, pages and the
hourly limit know it by :func:`address_hash` (an HMAC with
`DEVEX_SECRET_KEY`, so a list of hashes cannot be checked against a list of
addresses without the key), and log lines by a short prefix of that.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Optional

MAX_ADDRESS = 254  # RFC 5321's limit on a path
MAX_LOCAL = 64

# A plain address, ASCII only: dot-atoms on both sides of one @, and a domain of
# at least two labels ending in letters. Quoted local parts, IP literals and
# comments are valid in RFC 5322 but not what anyone types into this form.
ADDRESS = re.compile(
    r"""
    ^
    (?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)
    @
    (?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})
    \Z
    """,
    re.VERBOSE,
)


def read_address(text: Optional[str]) -> Optional[str]:
    """The address as it will be written to (domain in lower case), or None when it is not one."""
    text = (text or "").strip()
    if len(text) > MAX_ADDRESS:
        return None
    match = ADDRESS.match(text)
    if match is None or len(match["local"]) > MAX_LOCAL:
        return None
    return f"{match['local']}@{match['domain'].lower()}"


def address_hash(key: str, address: str) -> str:
    """The same for `Ana@Example.org` and `ana@example.org`: mail servers treat them alike."""
    return hmac.new(key.encode(), b"alert-address|" + address.lower().encode(), hashlib.sha256).hexdigest()


def log_name(hashed: str) -> str:
    """What a log line may say of an address."""
    return hashed[:12]
