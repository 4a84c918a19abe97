"""Cross-site posting protection for the board's forms.

Double submit, signed: the browser holds a random nonce in a cookie
(`HttpOnly`, `SameSite=Lax`, `Secure` on https), and each form carries an
HMAC of that nonce with `DEVEX_SECRET_KEY`. Another site can make a browser
post, but can neither read the cookie nor forge the HMAC. An `Origin` header,
when the browser sends one, must also be the board's own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "devex_csrf"
FIELD = "csrf_token"
NONCE_BYTES = 32
MAX_NONCE = 100


def token_for(key: str, nonce: str) -> str:
    return hmac.new(key.encode(), b"csrf|" + nonce.encode(), hashlib.sha256).hexdigest()


def nonce_of(request: Request) -> Optional[str]:
    nonce = request.cookies.get(COOKIE)
    if not nonce or len(nonce) > MAX_NONCE:
        return None
    return nonce


def new_nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def set_cookie(response: Response, nonce: str, public_base: str) -> None:
    response.set_cookie(COOKIE, nonce, httponly=True, samesite="lax", secure=public_base.startswith("https://"), path="/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_ok(request: Request, public_base: str) -> bool:
    """No Origin header (older browsers, some privacy settings) passes; one from
    anywhere but the board (as the public sees it, or as this request reached it) does not."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    origin = origin.strip().lower()
    return origin in (_origin(public_base), _origin(str(request.base_url)))


def valid(request: Request, key: str, submitted: Optional[str]) -> bool:
    nonce = nonce_of(request)
    if nonce is None or not submitted:
        return False
    return hmac.compare_digest(token_for(key, nonce), submitted)
