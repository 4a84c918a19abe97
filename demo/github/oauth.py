"""Sign in with GitHub: the OAuth web flow of the App's user authorization, as GitHub answers it.

`sim.oauth_app(client_id, client_secret)` registers the App's client; a test
or the demo plays the person in the browser with `sim.authorize(...)` (the
person clicks "Authorize": GitHub sends the browser back to the callback
with a code) or `sim.deny(...)` (`error=access_denied`). The code is
exchanged once at `POST /login/oauth/access_token` (on the web host) for a
user token (`ghu_...`, expiring in 8 hours), which reads `GET /user` and is
revoked by `DELETE /applications/{client_id}/token`. A wrong, used or
expired code gets GitHub's 200 answer `{"error": "bad_verification_code"}`.
"""

from __future__ import annotations

import base64
import secrets
import string
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from demo.github.rest import Context, HTTPError, Reply

CODE_LIFETIME = timedelta(minutes=10)
USER_TOKEN_LIFETIME = timedelta(hours=8)
DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"


def _random(prefix: str, n: int = 36) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


class OAuth:
    """The web flow's codes and user tokens."""

    def oauth_app(self, client_id: str, client_secret: str) -> None:
        with self.lock:
            self.oauth_clients[client_id] = client_secret

    def authorize(self, login: str, client_id: str, redirect_uri: str, state: str) -> str:
        """The person authorizes the App: the callback URL GitHub sends the browser to."""
        with self.lock:
            if client_id not in self.oauth_clients:
                raise KeyError(f"no OAuth client {client_id}")
            self._user(login)
            code = "".join(secrets.choice("0123456789abcdef") for _ in range(20))
            self.oauth_codes[code] = {
                "login": login,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "expires_at": datetime.now(timezone.utc) + CODE_LIFETIME,
                "used": False,
            }
        return redirect_uri + "?" + urlencode({"code": code, "state": state})

    def deny(self, redirect_uri: str, state: str) -> str:
        """The person clicks "Cancel": GitHub's callback URL with `error=access_denied`."""
        return redirect_uri + "?" + urlencode(
            {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
                "state": state,
            }
        )

    def expire_oauth_codes(self) -> None:
        with self.lock:
            for grant in self.oauth_codes.values():
                grant["expires_at"] = datetime.now(timezone.utc) - timedelta(seconds=1)

    def _post_oauth_access_token_route(self, context: Context) -> Reply:
        return self._post_oauth_access_token(context, context.body if isinstance(context.body, dict) else {})

    def _check_client_basic(self, headers: dict[str, str]) -> None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(credential).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise HTTPError(401, "Bad credentials") from None
        if scheme.lower() != "basic" or self.oauth_clients.get(client_id) != secret:
            raise HTTPError(401, "Bad credentials")

    def _post_oauth_access_token(self, context: Context, form: dict) -> Reply:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if client_id not in self.oauth_clients or self.oauth_clients[client_id] != secret:
            return Reply(200, {"error": "incorrect_client_credentials", "error_description": "The client_id and/or client_secret passed are incorrect.", "error_uri": DOCS + "#incorrect-client-credentials"})
        grant = self.oauth_codes.get(form.get("code") or "")
        if grant is None or grant["used"] or grant["expires_at"] <= datetime.now(timezone.utc) or grant["client_id"] != client_id:
            return Reply(200, {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired.", "error_uri": DOCS + "#bad-verification-code"})
        if form.get("redirect_uri") and form["redirect_uri"] != grant["redirect_uri"]:
            return Reply(200, {"error": "redirect_uri_mismatch", "error_description": "The redirect_uri MUST match the registered callback URL for this application.", "error_uri": DOCS + "#redirect-uri-mismatch"})
        grant["used"] = True
        token = _random("ghu_")
        self.user_tokens[token] = {"login": grant["login"], "client_id": client_id, "expires_at": datetime.now(timezone.utc) + USER_TOKEN_LIFETIME}
        return Reply(
            200,
            {
                "access_token": token,
                "expires_in": int(USER_TOKEN_LIFETIME.total_seconds()),
                "refresh_token": _random("ghr_", 76),
                "refresh_token_expires_in": 15811200,
                "scope": "",
                "token_type": "bearer",
            },
        )

    def _check_user_token(self, headers: dict[str, str]) -> str:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        grant = self.user_tokens.get(credential) if scheme.lower() in ("token", "bearer") else None
        if grant is None or grant["expires_at"] <= datetime.now(timezone.utc):
            raise HTTPError(401, "Bad credentials")
        return grant["login"]

    def _get_user(self, context: Context) -> Reply:
        user = self._user_json(context.user, context.api)
        user.update({"name": None, "company": None, "blog": "", "location": None, "email": None, "hireable": None, "bio": None,
                     "twitter_username": None, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                     "created_at": "2020-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
        return Reply(200, user)

    def _delete_app_token(self, context: Context, client_id: str) -> Reply:
        token = (context.body or {}).get("access_token") if isinstance(context.body, dict) else None
        grant = self.user_tokens.get(token or "")
        if grant is None or grant["client_id"] != client_id:
            raise HTTPError(404, "Not Found")
        del self.user_tokens[token]
        return Reply(204, None)
