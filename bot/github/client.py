"""GitHub out: githubkit with GitHub App authentication.

One `GitHubApp` per process. It owns its own token cache (githubkit caches an
installation token until a minute before it expires, so one token request per
installation per hour), honours `GITHUB_API_URL` for every call, and turns
githubkit's exceptions into one `GitHubError` that says whether trying again
later can help and when.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Optional
from urllib.parse import quote

import httpcore
import httpx
import jwt
import orjson
from githubkit import AppAuthStrategy, GitHub
from githubkit.auth.app import AppAuth
from githubkit.cache import MemCacheStrategy
from githubkit.config import get_config
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout

from bot.github.transport import CookielessGitHub, DirectCalls, InstallationAuth, KeptTransport, proxy_in_environment

log = logging.getLogger(__name__)

# Statuses worth trying again: GitHub's own trouble, or its rate limits.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class GitHubError(Exception):
    """A GitHub call that failed; `retryable` says whether later may work."""

    def __init__(
        self, message: str, *, status: Optional[int], retryable: bool, retry_after: Optional[float] = None, authentication: bool = False
    ):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        # GitHub refused the app's own credentials (app id or private key): a lasting
        # failure that only the operator can end; trying again soon cannot help.
        self.authentication = authentication


# What an operator reads when the app's credentials are refused (no secret in it).
REFUSED_CREDENTIALS = "GitHub refused the app's credentials (GITHUB_APP_ID {app_id}): check the app id and its private key"
UNUSABLE_KEY = "the private key of app {app_id} (GITHUB_APP_ID) cannot sign a token ({why}): check GITHUB_PRIVATE_KEY"
# The request that turns the app's JWT into an installation token.
TOKEN_REQUEST = re.compile(r"/app/installations/[^/]+/access_tokens$")


def _credentials_problem(exc: Exception, app_id: str, as_app: bool) -> Optional[GitHubError]:
    """A failure of the app's own credentials, or None for any other failure."""
    # githubkit wraps what fails in its authentication flow (signing the JWT, the
    # token request) in a plain RequestError.
    inner = exc.exc if isinstance(exc, RequestError) and not isinstance(exc, (RequestFailed, RequestTimeout)) else exc
    if isinstance(inner, jwt.PyJWTError):
        return GitHubError(UNUSABLE_KEY.format(app_id=app_id, why=type(inner).__name__), status=None, retryable=False, authentication=True)
    if isinstance(inner, RequestFailed) and inner.response.status_code == 401:
        if as_app or TOKEN_REQUEST.search(inner.request.url.path):
            return GitHubError(REFUSED_CREDENTIALS.format(app_id=app_id), status=401, retryable=False, authentication=True)
    return None


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any
    headers: dict[str, str]


def _says_secondary_limit(response: httpx.Response) -> bool:
    try:
        message = response.json().get("message")
    except Exception:
        return False
    return isinstance(message, str) and "secondary rate limit" in message.lower()


def _classify(exc: Exception) -> GitHubError:
    if isinstance(exc, RequestError) and not isinstance(exc, (RequestFailed, RequestTimeout)) and isinstance(exc.exc, RequestError):
        return _classify(exc.exc)  # a failure inside githubkit's authentication flow (the token request)
    if isinstance(exc, RateLimitExceeded):
        after = exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else None
        return GitHubError(f"rate limited ({exc.response.status_code})", status=exc.response.status_code, retryable=True, retry_after=after)
    if isinstance(exc, RequestFailed):
        status = exc.response.status_code
        headers = exc.response.raw_response.headers
        after = None
        if "retry-after" in headers:
            try:
                after = float(headers["retry-after"])
            except ValueError:
                after = None
        retryable = status in RETRYABLE_STATUSES or (status == 403 and headers.get("x-ratelimit-remaining") == "0")
        if status == 403 and not retryable and _says_secondary_limit(exc.response.raw_response):
            # A secondary limit may come with neither header: GitHub says wait at least a minute.
            retryable, after = True, after if after is not None else 60.0
        # A 401 means the token went stale under us: a fresh one may work.
        retryable = retryable or status == 401
        return GitHubError(f"GitHub answered {status}", status=status, retryable=retryable, retry_after=after)
    if isinstance(exc, RequestTimeout):
        return GitHubError("GitHub did not answer in time", status=None, retryable=True)
    if isinstance(exc, RequestError):
        return GitHubError(f"could not reach GitHub: {type(exc.exc).__name__}", status=None, retryable=True)
    return GitHubError(f"GitHub call failed: {type(exc).__name__}", status=None, retryable=True)


class GitHubApp:
    """Calls GitHub as the app's installations."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        base_url: str = "https://api.github.com",
        *,
        timeout: float = 15.0,
        transport: Optional[httpx.BaseTransport] = None,
    ):
        self.app_id = app_id
        self.base_url = base_url
        self._private_key = private_key
        self._timeout = timeout
        self._transport = transport or KeptTransport()
        # An installation's calls once githubkit holds its token (bot.github.transport.DirectCalls);
        # not with a transport of the caller's, nor through a proxy.
        config = get_config(base_url=base_url)
        self._direct = DirectCalls(str(config.base_url), timeout, config.user_agent, config.accept) if transport is None and not proxy_in_environment() else None
        # Our own cache, not githubkit's process-wide default: tests and
        # several apps in one process each count their own tokens.
        self._cache = MemCacheStrategy()
        self._clients: dict[int, GitHub] = {}
        self._lock = threading.Lock()
        self._entered = threading.local()  # the clients this thread is inside of

    def _client(self, installation_id: int) -> GitHub:
        with self._lock:
            client = self._clients.get(installation_id)
            if client is None:
                client = CookielessGitHub(
                    InstallationAuth(self.app_id, self._private_key, installation_id),
                    base_url=self.base_url,
                    timeout=self._timeout,
                    http_cache=False,
                    auto_retry=False,
                    cache_strategy=self._cache,
                    transport=self._transport,
                )
                self._clients[installation_id] = client
        entered = getattr(self._entered, "clients", None)
        if entered is None:
            entered = self._entered.clients = {}
        if entered.get(installation_id) is not client:
            # githubkit opens and closes an httpx client for each request made outside its
            # `with` block (a tenth of a call's CPU): this thread enters the block once and
            # stays in it (githubkit keeps the client in a context variable: one a thread).
            try:
                client.__enter__()
            except RuntimeError:
                pass  # this context was copied from one inside it already (githubkit refuses twice)
            entered[installation_id] = client
        return client

    def as_app(self) -> GitHub:
        """A client authenticated as the App itself (its JWT): for the App's own endpoints."""
        return GitHub(
            AppAuthStrategy(self.app_id, self._private_key),
            base_url=self.base_url,
            timeout=self._timeout,
            http_cache=False,
            auto_retry=False,
            cache_strategy=self._cache,
            transport=self._transport,
        )

    def forget_token(self, installation_id: int) -> None:
        """After a 401: drop the cached token so the next call asks for a new one."""
        with self._lock:
            self._clients.pop(installation_id, None)
            self._cache = MemCacheStrategy()

    def _held_token(self, installation_id: int) -> Optional[str]:
        """The installation's token where githubkit's cache holds one still good (githubkit
        keeps it until a minute before it expires), else None."""
        key = AppAuth.INSTALLATION_CACHE_KEY.format(issuer=self.app_id, installation_id=installation_id, permissions="", repositories="", repository_ids="")
        return self._cache.get_cache_storage().get(key)

    def call(self, installation_id: int, method: str, path: str, json: Any = None, params: Optional[dict] = None) -> Answer:
        """One REST call; raises GitHubError."""
        token = self._held_token(installation_id) if self._direct is not None else None
        answer = self._call_direct(installation_id, token, method, path, json, params) if token is not None else None
        if answer is not None:
            return answer
        try:
            response = self._client(installation_id).request(method, path.lstrip("/"), json=json, params=params)
        except Exception as exc:  # githubkit raises several families; classify them all
            raise self._failure(installation_id, exc) from exc
        return _answer(response)

    def _call_direct(self, installation_id: int, token: str, method: str, path: str, json: Any, params: Optional[dict]) -> Optional[Answer]:
        """The call on `DirectCalls`; None for a redirect (githubkit's path follows it: GitHub
        acted on nothing it redirects). Raises the GitHubError githubkit's path would."""
        try:
            response = self._direct.send(token, method, path, json=json, params=params)
        except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
            raise _classify(RequestTimeout(exc)) from exc
        except Exception as exc:
            raise _classify(RequestError(exc)) from exc
        status = response.status
        if 300 <= status < 400:
            return None
        if status >= 400:
            raw = httpx.Response(status, headers=response.headers, content=response.content, request=httpx.Request(method, self._direct.base + path.lstrip("/")))
            try:
                self._client(installation_id)._check(raw)  # githubkit's own verdict: rate limits, failures
            except Exception as exc:
                raise self._failure(installation_id, exc) from exc
        return Answer(status=status, data=_data(response.content), headers=_headers(response.headers))

    def _failure(self, installation_id: int, exc: Exception) -> GitHubError:
        """What an installation's failed call tells its caller; a refused token is forgotten
        (the next call asks for a new one)."""
        error = _credentials_problem(exc, self.app_id, as_app=False) or _classify(exc)
        if error.status == 401:
            self.forget_token(installation_id)
        return error

    def call_as_app(self, method: str, path: str, json: Any = None, params: Optional[dict] = None) -> Answer:
        """One REST call as the app itself (its JWT), e.g. `GET /app/hook/deliveries`; raises GitHubError."""
        try:
            response = self.as_app().request(method, path.lstrip("/"), json=json, params=params)
        except Exception as exc:
            raise (_credentials_problem(exc, self.app_id, as_app=True) or _classify(exc)) from exc
        return _answer(response)


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """As httpx's headers read into a dict: names in lower case, repeated ones joined."""
    out: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _data(content: bytes) -> Any:
    """An answer's body: its JSON, or its text where it is not JSON, or None when empty."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", errors="replace")


def _answer(response) -> Answer:
    raw = response.raw_response
    return Answer(status=raw.status_code, data=_data(raw.content), headers=dict(raw.headers))


class GitHubReader:
    """The reads a handler needs, for one installation."""

    def __init__(self, call: Callable[..., Answer], installation_id: int):
        self._call = call
        self._installation_id = installation_id
        self.calls = 0  # how many times GitHub was asked (the worker's batches end after one)

    def _get(self, path: str, params: Optional[dict] = None) -> Optional[Answer]:
        self.calls += 1
        try:
            return self._call(self._installation_id, "GET", path, params=params)
        except GitHubError as error:
            if error.status == 404:
                return None
            raise

    def file_text(self, repository: str, path: str, ref: Optional[str] = None) -> Optional[str]:
        answer = self._get(f"/repos/{repository}/contents/{quote(path)}", params={"ref": ref} if ref else None)
        if answer is None or not isinstance(answer.data, dict) or "content" not in answer.data:
            return None
        return base64.b64decode(answer.data["content"]).decode("utf-8", errors="replace")

    def repository_private(self, repository: str) -> Optional[bool]:
        answer = self._get(f"/repos/{repository}")
        if answer is None or not isinstance(answer.data, dict):
            return None
        return bool(answer.data.get("private"))

    def permission(self, repository: str, login: str) -> str:
        """admin, maintain, write, triage, read or none."""
        answer = self._get(f"/repos/{repository}/collaborators/{quote(login)}/permission")
        if answer is None or not isinstance(answer.data, dict):
            return "none"
        role = answer.data.get("role_name") or answer.data.get("permission") or "none"
        return str(role)

    def team_member(self, org: str, team_slug: str, login: str) -> bool:
        answer = self._get(f"/orgs/{quote(org)}/teams/{quote(team_slug)}/memberships/{quote(login)}")
        return bool(answer and isinstance(answer.data, dict) and answer.data.get("state") == "active")

    def team_members(self, org: str, team_slug: str) -> list[str]:
        """The team's members (first 100: enough to know whether someone else is in it)."""
        answer = self._get(f"/orgs/{quote(org)}/teams/{quote(team_slug)}/members", params={"per_page": 100})
        return _logins(answer)

    def admins(self, repository: str) -> list[str]:
        """The repository's collaborators with admin permission (first 100)."""
        answer = self._get(f"/repos/{repository}/collaborators", params={"permission": "admin", "per_page": 100})
        return _logins(answer)

    def pull_reviews(self, repository: str, number: int) -> list[dict]:
        """The pull request's reviews, oldest first (up to 300: three pages of 100)."""
        reviews: list[dict] = []
        for page in (1, 2, 3):
            answer = self._get(f"/repos/{repository}/pulls/{number}/reviews", params={"per_page": 100, "page": page})
            batch = answer.data if answer is not None and isinstance(answer.data, list) else []
            reviews.extend(r for r in batch if isinstance(r, dict))
            if len(batch) < 100:
                break
        return reviews

    def check_runs(self, repository: str, sha: str) -> list[dict]:
        """The check runs of a commit (first 100)."""
        answer = self._get(f"/repos/{repository}/commits/{quote(sha)}/check-runs", params={"per_page": 100})
        data = answer.data if answer is not None and isinstance(answer.data, dict) else {}
        return [r for r in data.get("check_runs") or [] if isinstance(r, dict)]

    def commit_statuses(self, repository: str, sha: str) -> list[dict]:
        """The latest status of each context of a commit (its combined status)."""
        answer = self._get(f"/repos/{repository}/commits/{quote(sha)}/status", params={"per_page": 100})
        data = answer.data if answer is not None and isinstance(answer.data, dict) else {}
        return [s for s in data.get("statuses") or [] if isinstance(s, dict)]

    def closed_by_commit(self, repository: str, number: int) -> bool:
        """Whether the issue's latest close was made by a commit or a merged pull
        request's closing keyword (GitHub's `closed` event then carries a commit id)."""
        closes: list[dict] = []
        for page in (1, 2, 3):
            answer = self._get(f"/repos/{repository}/issues/{number}/events", params={"per_page": 100, "page": page})
            batch = answer.data if answer is not None and isinstance(answer.data, list) else []
            closes.extend(e for e in batch if isinstance(e, dict) and e.get("event") == "closed")
            if len(batch) < 100:
                break
        return bool(closes and closes[-1].get("commit_id"))


def _logins(answer: Optional[Answer]) -> list[str]:
    if answer is None or not isinstance(answer.data, list):
        return []
    return [u["login"] for u in answer.data if isinstance(u, dict) and isinstance(u.get("login"), str) and u.get("type") != "Bot"]


class DryRunGitHub:
    """For `devex-bot receive --dry-run`: prints each write instead of making it.

    No read reaches GitHub either: files and issues read as absent, and a
    collaborator's permission as admin (printed), so the dry run shows what the
    bot would write when the sender may act."""

    def __init__(self, printer: Callable[[str], None] = print):
        self.printer = printer
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, installation_id: int, method: str, path: str, json: Any = None, params: Optional[dict] = None) -> Answer:
        self.calls.append((method, path, json))
        if method == "GET" and path.endswith("/permission"):
            self.printer(f"GET {path} (not made: the dry run assumes admin)")
            return Answer(status=200, data={"permission": "admin", "role_name": "admin"}, headers={})
        if method == "GET":
            raise GitHubError("dry run: no reads", status=404, retryable=False)
        import json as _json

        self.printer(f"{method} {path}\n{_json.dumps(json, indent=2, ensure_ascii=False) if json is not None else ''}".rstrip())
        return Answer(status=201 if method == "POST" else 200, data={"id": len(self.calls), "number": len(self.calls), "html_url": ""}, headers={})
