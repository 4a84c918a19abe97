"""The app's authentication: its JWT, installation tokens, and which repositories a token reaches.

Installation tokens expire one real hour after issue, by the wall clock
(`datetime.now` here, which a test may shift), because githubkit computes its
token cache lifetime from the wall clock.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta, timezone

import jwt

from demo.github.rest import Context, HTTPError, Reply, iso_time

TOKEN_LIFETIME = timedelta(hours=1)


def wall_now() -> datetime:
    """The real time (the simulator's clock when none is given)."""
    return datetime.now(timezone.utc)


class Auth:
    """App JWTs, installation tokens and the installation's reach."""

    def revoke_tokens(self) -> None:
        """Invalidates every installation token issued so far (the next call gets 401)."""
        with self.lock:
            self.tokens.clear()

    def _check_jwt(self, headers: dict[str, str]) -> None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential or credential.startswith("gh"):
            raise HTTPError(401, "A JSON web token could not be decoded")
        try:
            if self.app_public_key is not None:
                claims = jwt.decode(credential, self.app_public_key, algorithms=["RS256"], leeway=60)
            else:
                claims = jwt.decode(credential, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise HTTPError(401, f"A JSON web token could not be decoded ({exc})") from exc
        if self.app_id is not None and str(claims.get("iss")) != str(self.app_id):
            raise HTTPError(401, "'Issuer' claim ('iss') must be the app's id")

    def _check_token(self, headers: dict[str, str]) -> int:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        grant = self.tokens.get(credential) if scheme.lower() in ("token", "bearer") else None
        if grant is None or grant["expires_at"] <= datetime.now(timezone.utc):
            raise HTTPError(401, "Bad credentials")
        return grant["installation_id"]

    def _post_access_token(self, context: Context, installation_id: str) -> Reply:
        installation = self.installations.get(int(installation_id))
        if installation is None:
            raise HTTPError(404, "Not Found")
        self.token_requests[installation["id"]] = self.token_requests.get(installation["id"], 0) + 1
        token = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires_at = (datetime.now(timezone.utc) + TOKEN_LIFETIME).replace(microsecond=0)
        self.tokens[token] = {"installation_id": installation["id"], "expires_at": expires_at}
        return Reply(
            201,
            {
                "token": token,
                "expires_at": iso_time(expires_at),
                "permissions": installation["permissions"],
                "repository_selection": "all" if installation["repositories"] is None else "selected",
            },
        )

    def _repo_for(self, context: Context, owner: str, name: str) -> str:
        """The repository's full name, or 404 when it does not exist or is outside the installation."""
        wanted = f"{owner}/{name}".lower()
        full = next((f for f in self.repositories if f.lower() == wanted), None)
        if full is None or not self._installed_on(context.installation_id, full):
            raise HTTPError(404, "Not Found")
        return full

    def _installed_on(self, installation_id: int | None, full: str) -> bool:
        installation = self.installations.get(installation_id) if installation_id is not None else None
        if installation is None:
            return False
        if installation["repositories"] is None:
            return self.repositories[full]["owner"].lower() == installation["account"].lower()
        return full in installation["repositories"]

    def _installation_of(self, full: str) -> int | None:
        for installation_id in self.installations:
            if self._installed_on(installation_id, full):
                return installation_id
        return None
