"""An in-memory GitHub, shaped like its REST API v3 and its webhooks.

The tests, `devex-bot demo` and the benchmarks talk to this instead of
api.github.com. It answers the endpoints the bot uses with the JSON GitHub
returns (enough fields for githubkit's response models to validate), records
every request, issues and checks installation tokens, injects faults on
demand, and records the webhook deliveries GitHub would send for the app's
own actions (`events`), so a test can feed them back to the bot as GitHub
would.

Three ways in, all dispatching through `SimulatedGitHub.handle`:

- `sim.respx_handler`: a synchronous respx side effect,
  `respx_mock.route(host="api.github.test").mock(side_effect=sim.respx_handler)`;
- `sim.transport()`: an `httpx.MockTransport` for `GitHub(..., transport=...)`
  or any httpx client, sync or async;
- `sim.asgi_app`: a Starlette app for `httpx.ASGITransport` or uvicorn.

Timestamps of issues and comments come from `clock` (so a test can move time),
but installation tokens always expire one real hour after issue, because
githubkit computes its token cache lifetime from the wall clock.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import os
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BOT_LOGIN = "devex-bot[bot]"
BOT_SLUG = "devex-bot"

# GitHub Enterprise Server serves the REST API under this prefix.
ENTERPRISE_PREFIX = "/api/v3"

DOCS_URL = "https://docs.github.com/rest"
TOKEN_LIFETIME = timedelta(hours=1)
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

# The fine-grained role a collaborator holds, and the legacy `permission`
# value GitHub reports for it: maintain reads as "write", triage as "read".
ROLES = ("admin", "maintain", "write", "triage", "read", "none")
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
DEFAULT_INSTALLATION_PERMISSIONS = {
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}

# GitHub hides HTML comments (the bot's hidden markers) when it renders a body.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

RULE = "-" * 72


def _default_payloads_dir() -> Path | None:
    """Where the real webhook payload examples live, if anywhere."""
    candidates = [
        os.environ.get("DEVEX_GITHUB_PAYLOADS"),
        Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "github-payloads",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def _iso(moment: datetime) -> str:
    """GitHub's timestamp form; githubkit parses token expiry with exactly this."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, number: int) -> str:
    """A legacy global node id, as in the payload examples ("04:User21031067")."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _overlay(template: Any, ours: dict) -> dict:
    """Our object, keeping the key order and any extra keys of GitHub's example."""
    if not isinstance(template, dict):
        return ours
    merged = {key: ours[key] if key in ours else copy.deepcopy(value) for key, value in template.items()}
    merged.update({key: value for key, value in ours.items() if key not in merged})
    return merged


@dataclass
class RecordedRequest:
    """One request the simulator received, for counting and asserting."""

    method: str
    path: str  # without the /api/v3 prefix and the query string
    json: Any
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    body: Any
    timeout: bool = False
    # GitHub applies the request, then the answer is lost (see lose_answer_next).
    applied: bool = False


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, errors: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


@dataclass
class _Context:
    """What one API request carries besides its path parameters."""

    api: str  # e.g. https://api.github.test or https://ghe.example/api/v3
    query: dict[str, str]
    body: Any
    installation_id: int | None = None


class SimulatedGitHub:
    """GitHub's state and REST API, in memory. Every public method is thread-safe."""

    def __init__(
        self,
        *,
        app_public_key: str | bytes | None = None,
        app_id: int | str | None = None,
        clock: Callable[[], datetime] | None = None,
        api_url: str = "https://api.github.com",
        web_url: str = "https://github.com",
        payloads_dir: str | Path | None = None,
        asgi_timeout_seconds: float = 30.0,
    ):
        self.app_public_key = app_public_key
        self.app_id = app_id
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.payloads_dir = Path(payloads_dir) if payloads_dir else _default_payloads_dir()
        self.asgi_timeout_seconds = asgi_timeout_seconds
        self.lock = threading.RLock()

        self.repositories: dict[str, dict] = {}
        self.installations: dict[int, dict] = {}
        self.users: dict[str, dict] = {}
        self.permissions: dict[tuple[str, str], str] = {}
        self.teams: dict[tuple[str, str], set[str]] = {}
        self.issues: dict[str, dict[int, dict]] = {}
        self.comments: dict[int, dict] = {}
        self.deleted_comments: dict[int, dict] = {}
        self.labels: dict[str, dict[str, dict]] = {}
        self.requests: list[RecordedRequest] = []
        self.events: list[tuple[str, dict]] = []
        self.human_events: list[tuple[str, dict]] = []
        self.tokens: dict[str, dict] = {}
        self.token_requests: dict[int, int] = {}

        self._faults: list[_Fault] = []
        self._templates: dict[tuple[str, str], dict] = {}
        self._next_id = {
            "user": 1000,
            "repo": 100_000,
            "issue": 200_000,
            "comment": 1_000_000,
            "label": 300_000,
            "pull": 400_000,
        }
        self._seq = 0
        self._add_user(BOT_LOGIN, "Bot")
        self._routes = self._build_routes()
        self.asgi_app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._asgi_endpoint,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                )
            ]
        )

    # ------------------------------------------------------------------
    # Seeding

    def add_user(self, login: str, type: str = "User") -> dict:
        """Registers a user ("User", "Bot" or "Organization"); logins ending in [bot] are bots."""
        with self.lock:
            return self._add_user(login, type)

    def add_repo(
        self,
        full_name: str,
        private: bool = False,
        files: dict[str, str] | None = None,
        default_branch: str = "main",
    ) -> dict:
        """Creates a repository owned by the login before the slash."""
        with self.lock:
            owner, name = full_name.split("/", 1)
            self._user(owner)
            record = {
                "id": self._new_id("repo"),
                "name": name,
                "full_name": full_name,
                "owner": owner,
                "private": private,
                "default_branch": default_branch,
                "files": dict(files or {}),
                "created_at": _iso(self.clock()),
            }
            self.repositories[full_name] = record
            self.issues.setdefault(full_name, {})
            self.labels.setdefault(full_name, {})
            return record

    def add_installation(
        self,
        id: int,
        account: str,
        repos: Iterable[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> dict:
        """Installs the app on `account`: on the listed repositories, or all its repositories when None."""
        with self.lock:
            self._user(account)
            record = {
                "id": id,
                "account": account,
                "repositories": None if repos is None else list(repos),
                "permissions": dict(permissions or DEFAULT_INSTALLATION_PERMISSIONS),
            }
            self.installations[id] = record
            return record

    def set_permission(self, repo: str, login: str, perm: str) -> None:
        """Sets `login`'s role on `repo`: admin, maintain, write, triage, read or none."""
        if perm not in ROLES:
            raise ValueError(f"unknown role {perm!r}; one of {ROLES}")
        with self.lock:
            self._user(login)
            self.permissions[(repo, login)] = perm

    def add_team_member(self, org: str, team: str, login: str) -> None:
        """Adds `login` to the team `org/team` (an active member)."""
        with self.lock:
            self._add_user(org, "Organization")
            self._user(login)
            self.teams.setdefault((org, team), set()).add(login)

    def open_issue(
        self, repo: str, title: str, body: str, user: str, labels: Iterable[str] = ()
    ) -> dict:
        """Opens an issue as `user`, without a webhook."""
        with self.lock:
            issue = self._create_issue(repo, title, body, user)
            for name in labels:
                self._attach_label(repo, issue, name, user)
            return issue

    def add_comment(self, repo: str, number: int, body: str, user: str) -> dict:
        """Comments on an issue or pull request as `user`, without a webhook."""
        with self.lock:
            return self._create_comment(repo, self._issue(repo, number), body, user)

    def open_pull_request(
        self,
        repo: str,
        title: str,
        body: str,
        user: str,
        head_repo: str | None = None,
        head_ref: str | None = None,
    ) -> dict:
        """Opens a pull request (an issue with `pull_request` set) as `user`, without a webhook."""
        with self.lock:
            issue = self._create_issue(repo, title, body, user)
            head_repo = head_repo or repo
            if head_repo not in self.repositories:
                self.add_repo(head_repo)
            issue["pull_request"] = {
                "id": self._new_id("pull"),
                "head_repo": head_repo,
                "head_ref": head_ref or f"{user}-patch-{issue['number']}",
                "head_sha": secrets.token_hex(20),
                "base_ref": self.repositories[repo]["default_branch"],
                "base_sha": secrets.token_hex(20),
                "merged": False,
                "merged_at": None,
                "merged_by": None,
                "merge_commit_sha": None,
            }
            return issue

    def revoke_tokens(self) -> None:
        """Invalidates every installation token issued so far (the next call gets 401)."""
        with self.lock:
            self.tokens.clear()

    def add_routes(self, table: Iterable[tuple[str, str, str, Callable[..., tuple[int, Any, dict]]]]) -> None:
        """More endpoints: (method, path regex, "jwt" or "token", handler). A handler
        takes (api_url, query, body, **path_params) and returns (status, body, headers)."""

        def plain(handler: Callable[..., tuple[int, Any, dict]]) -> Callable[..., _Reply]:
            def route(context: _Context, **params: str) -> _Reply:
                status, body, headers = handler(context.api, context.query, context.body, **params)
                return _Reply(status, body, dict(headers or {}))

            return route

        with self.lock:
            self._routes.extend((m, re.compile(p), auth, plain(h)) for m, p, auth, h in table)

    # ------------------------------------------------------------------
    # Faults

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """The next `times` requests matching (method or "*", regex searched in the path) get `status`."""
        with self.lock:
            self._faults.append(
                _Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    times,
                    {k.lower(): str(v) for k, v in (headers or {}).items()},
                    body if body is not None else {"message": _reason(status), "documentation_url": DOCS_URL},
                )
            )

    def secondary_rate_limit_next(self, method: str, path_regex: str, retry_after: int = 1, times: int = 1) -> None:
        """A 403 secondary rate limit, as GitHub sends it (githubkit raises SecondaryRateLimitExceeded)."""
        self.fail_next(
            method,
            path_regex,
            403,
            times,
            headers={"retry-after": str(retry_after)},
            body={
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": DOCS_URL,
            },
        )

    def primary_rate_limit_next(self, method: str, path_regex: str, reset_in: int = 60, times: int = 1) -> None:
        """A 429 primary rate limit (githubkit raises PrimaryRateLimitExceeded)."""
        self.fail_next(
            method,
            path_regex,
            429,
            times,
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(int(time.time()) + reset_in),
            },
            body={"message": "API rate limit exceeded for installation.", "documentation_url": DOCS_URL},
        )

    def timeout_next(self, method: str, path_regex: str, times: int = 1) -> None:
        """The next matching requests time out.

        Through `respx_handler` and `transport()` the call raises
        `httpx.ReadTimeout` at once (githubkit turns it into RequestTimeout).
        Through `asgi_app` the answer is held `asgi_timeout_seconds` and then
        is a 504, so give the client a shorter timeout.
        """
        with self.lock:
            self._faults.append(
                _Fault(method.upper(), re.compile(path_regex), 504, times, {}, None, timeout=True)
            )

    def lose_answer_next(self, method: str, path_regex: str, status: int | None = None, times: int = 1) -> None:
        """The next matching requests are applied (a comment is created...) but the
        client never learns it: a timeout (status None) or `status`, e.g. a 502 from a proxy."""
        with self.lock:
            self._faults.append(
                _Fault(method.upper(), re.compile(path_regex), status or 504, times, {}, None, timeout=status is None, applied=True)
            )

    # ------------------------------------------------------------------
    # Inspection

    def count_requests(self, method: str | None = None, path_regex: str | None = None) -> int:
        """How many recorded requests match the method and the regex (searched in the path)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path_regex is None or re.search(path_regex, r.path))
            )

    def pop_events(self) -> list[tuple[str, dict]]:
        """Takes every recorded delivery out of `events`, oldest first."""
        with self.lock:
            taken, self.events = self.events, []
            return taken

    def issue(self, repo: str, number: int) -> dict:
        """The stored issue or pull request."""
        with self.lock:
            return self._issue(repo, number)

    def issue_comments(self, repo: str, number: int) -> list[dict]:
        """The live comments of an issue, oldest first."""
        with self.lock:
            issue = self._issue(repo, number)
            return [self.comments[i] for i in issue["comment_ids"]]

    # ------------------------------------------------------------------
    # Human actions that GitHub would deliver as webhooks

    def human_comment(self, repo: str, number: int, login: str, body: str) -> tuple[str, dict]:
        """`login` comments; returns the issue_comment.created delivery."""
        with self.lock:
            issue = self._issue(repo, number)
            comment = self._create_comment(repo, issue, body, login)
            return self._human(
                "issue_comment", "created", repo, login, issue=issue, comment=comment
            )

    def human_edit_comment(self, comment_id: int, login: str, body: str) -> tuple[str, dict]:
        """`login` edits a comment; returns issue_comment.edited with `changes.body.from`."""
        with self.lock:
            comment = self._comment(comment_id)
            old = comment["body"]
            self._edit_comment(comment, body)
            issue = self._issue(comment["repo"], comment["issue_number"])
            return self._human(
                "issue_comment", "edited", comment["repo"], login, issue=issue, comment=comment,
                extra={"changes": {"body": {"from": old}}},
            )

    def human_label(self, repo: str, number: int, login: str, label: str) -> tuple[str, dict]:
        """`login` adds a label; returns issues.labeled (pull_request.labeled on a pull request)."""
        with self.lock:
            issue = self._issue(repo, number)
            self._attach_label(repo, issue, label, login)
            return self._human(
                self._kind(issue), "labeled", repo, login, issue=issue,
                extra={"label": self._label_json(repo, label, self.api_url)},
            )

    def human_unlabel(self, repo: str, number: int, login: str, label: str) -> tuple[str, dict]:
        """`login` removes a label; returns issues.unlabeled."""
        with self.lock:
            issue = self._issue(repo, number)
            if label not in issue["labels"]:
                raise KeyError(f"{repo}#{number} has no label {label!r}")
            self._detach_label(issue, label, login)
            return self._human(
                self._kind(issue), "unlabeled", repo, login, issue=issue,
                extra={"label": self._label_json(repo, label, self.api_url)},
            )

    def human_edit_issue(
        self, repo: str, number: int, login: str, body: str, title: str | None = None
    ) -> tuple[str, dict]:
        """`login` edits the body (and title); returns issues.edited with `changes.body.from`."""
        with self.lock:
            issue = self._issue(repo, number)
            changes = self._edit_issue(issue, body=body, title=title)
            return self._human(
                self._kind(issue), "edited", repo, login, issue=issue, extra={"changes": changes}
            )

    def human_close_issue(
        self, repo: str, number: int, login: str, state_reason: str = "completed"
    ) -> tuple[str, dict]:
        """`login` closes the issue; returns issues.closed."""
        with self.lock:
            issue = self._issue(repo, number)
            self._set_state(issue, "closed", login, state_reason)
            return self._human("issues", "closed", repo, login, issue=issue)

    def human_reopen_issue(self, repo: str, number: int, login: str) -> tuple[str, dict]:
        """`login` reopens the issue; returns issues.reopened (pull_request.reopened on a pull request)."""
        with self.lock:
            issue = self._issue(repo, number)
            self._set_state(issue, "open", login, "reopened")
            return self._human(self._kind(issue), "reopened", repo, login, issue=issue)

    def human_open_issue(
        self, repo: str, title: str, body: str, login: str, labels: Iterable[str] = ()
    ) -> tuple[str, dict]:
        """`login` opens an issue (with labels, as an issue form does); returns issues.opened.

        GitHub also sends issues.labeled for each label; this returns only the opened delivery.
        """
        with self.lock:
            issue = self.open_issue(repo, title, body, login, labels)
            return self._human("issues", "opened", repo, login, issue=issue)

    def human_open_pull_request(
        self,
        repo: str,
        title: str,
        body: str,
        login: str,
        head_repo: str | None = None,
        head_ref: str | None = None,
    ) -> tuple[str, dict]:
        """`login` opens a pull request; returns pull_request.opened."""
        with self.lock:
            issue = self.open_pull_request(repo, title, body, login, head_repo, head_ref)
            return self._human("pull_request", "opened", repo, login, issue=issue)

    def human_merge_pull_request(self, repo: str, number: int, merged_by: str) -> tuple[str, dict]:
        """`merged_by` merges it; returns pull_request.closed with merged true."""
        with self.lock:
            issue = self._pull(repo, number)
            pull = issue["pull_request"]
            pull.update(
                merged=True,
                merged_at=_iso(self.clock()),
                merged_by=merged_by,
                merge_commit_sha=secrets.token_hex(20),
            )
            self._set_state(issue, "closed", merged_by, None, kind="merged")
            return self._human("pull_request", "closed", repo, merged_by, issue=issue)

    def human_close_pull_request(self, repo: str, number: int, login: str) -> tuple[str, dict]:
        """`login` closes it without merging; returns pull_request.closed with merged false."""
        with self.lock:
            issue = self._pull(repo, number)
            self._set_state(issue, "closed", login, None)
            return self._human("pull_request", "closed", repo, login, issue=issue)

    # ------------------------------------------------------------------
    # Rendering

    def render_thread(self, repo: str, number: int) -> str:
        """The issue or pull request as GitHub shows it, as plain text for a terminal."""
        with self.lock:
            issue = self._issue(repo, number)
            pull = issue["pull_request"]
            if pull and pull["merged"]:
                state = "Merged"
            else:
                state = issue["state"].capitalize()
            kind = "pull request" if pull else "issue"
            lines = [
                RULE,
                f"{issue['title']} #{issue['number']}  [{state}]",
                f"{repo}: @{issue['user']} opened this {kind} at {_show_time(issue['created_at'])}",
                "Labels: " + (", ".join(issue["labels"]) or "none"),
                "Assignees: " + (", ".join(f"@{a}" for a in issue["assignees"]) or "none"),
                RULE,
                _indented(issue["body"]),
            ]
            entries = [(c["seq"], "comment", c) for c in (self.comments[i] for i in issue["comment_ids"])]
            entries += [(t["seq"], "timeline", t) for t in issue["timeline"]]
            previous = "comment"
            for _, what, entry in sorted(entries, key=lambda e: e[0]):
                if what == "comment" or previous == "comment":
                    lines.append("")
                previous = what
                if what == "comment":
                    edited = " (edited)" if entry["updated_at"] != entry["created_at"] else ""
                    lines.append(f"@{entry['user']} commented at {_show_time(entry['created_at'])}{edited}:")
                    lines.append(_indented(entry["body"]))
                else:
                    lines.append(f"  * @{entry['actor']} {entry['text']} at {_show_time(entry['at'])}")
            lines.append(RULE)
            return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------
    # Transports

    def respx_handler(self, request: httpx.Request) -> httpx.Response:
        """A respx side effect (and MockTransport handler) answering from this simulator."""
        body = request.read()
        base = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        reply = self.handle(
            request.method,
            request.url.raw_path.decode("ascii").split("?", 1)[0],
            dict(request.url.params),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            base,
        )
        if reply.timeout:
            raise httpx.ReadTimeout("simulated GitHub timeout", request=request)
        return httpx.Response(reply.status, headers=reply.headers, content=_encode(reply), request=request)

    def transport(self) -> httpx.MockTransport:
        """An httpx transport (sync and async) answering from this simulator."""
        return httpx.MockTransport(self.respx_handler)

    async def _asgi_endpoint(self, request: Request) -> Response:
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        reply = self.handle(
            request.method,
            raw_path.decode("latin-1").split("?", 1)[0],
            dict(request.query_params),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            f"{request.url.scheme}://{request.url.netloc}",
        )
        if reply.timeout:
            await asyncio.sleep(self.asgi_timeout_seconds)
        return Response(_encode(reply), status_code=reply.status, headers=reply.headers)

    # ------------------------------------------------------------------
    # Dispatch

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        base_url: str,
    ) -> _Reply:
        """Answers one request; every transport goes through here."""
        method = method.upper()
        prefix = ""
        if raw_path == ENTERPRISE_PREFIX or raw_path.startswith(ENTERPRISE_PREFIX + "/"):
            prefix, raw_path = ENTERPRISE_PREFIX, raw_path[len(ENTERPRISE_PREFIX):] or "/"
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = _MALFORMED
        with self.lock:
            self.requests.append(
                RecordedRequest(method, unquote(raw_path), None if payload is _MALFORMED else payload, dict(headers), dict(query))
            )
            fault = self._take_fault(method, unquote(raw_path))
            if fault is not None and not fault.applied:
                if fault.timeout:
                    return _Reply(504, {"message": "simulated timeout"}, timeout=True)
                return _Reply(fault.status, copy.deepcopy(fault.body), self._headers(fault.headers))
            if payload is _MALFORMED:
                return _error(400, "Problems parsing JSON")
            context = _Context(api=base_url.rstrip("/") + prefix, query=query, body=payload)
            for route_method, pattern, auth, handler in self._routes:
                match = pattern.fullmatch(raw_path)
                if match is None or route_method != method:
                    continue
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                try:
                    if auth == "jwt":
                        self._check_jwt(headers)
                    else:
                        context.installation_id = self._check_token(headers)
                    reply = handler(context, **params)
                except _HTTPError as exc:
                    reply = _error(exc.status, exc.message, exc.errors)
                reply.headers = self._headers(reply.headers)
                if fault is not None:  # applied; now the answer is lost
                    return _Reply(fault.status, {"message": _reason(fault.status)}, self._headers({}), timeout=fault.timeout)
                return reply
            return _error(404, "Not Found")

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-github-media-type": "github.v3; format=json",
            "x-github-request-id": secrets.token_hex(8).upper(),
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }
        headers.update(extra)
        return headers

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., _Reply]]]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        issue = repo + r"/issues/(?P<number>\d+)"
        table = [
            ("POST", r"/app/installations/(?P<installation_id>\d+)/access_tokens", "jwt", self._post_access_token),
            ("GET", repo, "token", self._get_repo),
            ("GET", repo + r"/contents(?:/(?P<path>.*))?", "token", self._get_content),
            ("GET", repo + r"/collaborators/(?P<username>[^/]+)/permission", "token", self._get_permission),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/memberships/(?P<username>[^/]+)", "token", self._get_team_membership),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/members", "token", self._list_team_members),
            ("GET", repo + r"/collaborators", "token", self._list_collaborators),
            ("POST", repo + r"/issues", "token", self._post_issue),
            ("GET", repo + r"/issues", "token", self._list_issues),
            ("GET", issue, "token", self._get_issue),
            ("PATCH", issue, "token", self._patch_issue),
            ("GET", issue + r"/comments", "token", self._list_comments),
            ("POST", issue + r"/comments", "token", self._post_comment),
            ("GET", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._get_comment),
            ("PATCH", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._patch_comment),
            ("DELETE", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._delete_comment),
            ("GET", issue + r"/labels", "token", self._list_labels),
            ("POST", issue + r"/labels", "token", self._add_labels),
            ("PUT", issue + r"/labels", "token", self._set_labels),
            ("DELETE", issue + r"/labels", "token", self._clear_labels),
            ("DELETE", issue + r"/labels/(?P<name>.+)", "token", self._remove_label),
            ("POST", issue + r"/assignees", "token", self._add_assignees),
            ("DELETE", issue + r"/assignees", "token", self._remove_assignees),
        ]
        return [(m, re.compile(p), auth, h) for m, p, auth, h in table]

    # ------------------------------------------------------------------
    # Authentication

    def _check_jwt(self, headers: dict[str, str]) -> None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential or credential.startswith("gh"):
            raise _HTTPError(401, "A JSON web token could not be decoded")
        try:
            if self.app_public_key is not None:
                claims = jwt.decode(credential, self.app_public_key, algorithms=["RS256"], leeway=60)
            else:
                claims = jwt.decode(credential, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _HTTPError(401, f"A JSON web token could not be decoded ({exc})") from exc
        if self.app_id is not None and str(claims.get("iss")) != str(self.app_id):
            raise _HTTPError(401, "'Issuer' claim ('iss') must be the app's id")

    def _check_token(self, headers: dict[str, str]) -> int:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        grant = self.tokens.get(credential) if scheme.lower() in ("token", "bearer") else None
        if grant is None or grant["expires_at"] <= datetime.now(timezone.utc):
            raise _HTTPError(401, "Bad credentials")
        return grant["installation_id"]

    def _post_access_token(self, context: _Context, installation_id: str) -> _Reply:
        installation = self.installations.get(int(installation_id))
        if installation is None:
            raise _HTTPError(404, "Not Found")
        self.token_requests[installation["id"]] = self.token_requests.get(installation["id"], 0) + 1
        token = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires_at = (datetime.now(timezone.utc) + TOKEN_LIFETIME).replace(microsecond=0)
        self.tokens[token] = {"installation_id": installation["id"], "expires_at": expires_at}
        return _Reply(
            201,
            {
                "token": token,
                "expires_at": _iso(expires_at),
                "permissions": installation["permissions"],
                "repository_selection": "all" if installation["repositories"] is None else "selected",
            },
        )

    def _repo_for(self, context: _Context, owner: str, name: str) -> str:
        """The repository's full name, or 404 when it does not exist or is outside the installation."""
        wanted = f"{owner}/{name}".lower()
        full = next((f for f in self.repositories if f.lower() == wanted), None)
        if full is None or not self._installed_on(context.installation_id, full):
            raise _HTTPError(404, "Not Found")
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

    # ------------------------------------------------------------------
    # Endpoints

    def _get_repo(self, context: _Context, owner: str, repo: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        return _Reply(200, self._repo_json(full, context.api, full_model=True))

    def _get_content(self, context: _Context, owner: str, repo: str, path: str | None = None) -> _Reply:
        full = self._repo_for(context, owner, repo)
        record = self.repositories[full]
        ref = context.query.get("ref")
        branch = record["default_branch"]
        if ref not in (None, "", branch, f"refs/heads/{branch}", "HEAD"):
            raise _HTTPError(404, f"No commit found for the ref {ref}")
        path = (path or "").strip("/")
        files = record["files"]
        if path in files:
            return _Reply(200, self._content_json(full, path, files[path], context.api))
        prefix = path + "/" if path else ""
        children = sorted({p[len(prefix):].split("/", 1)[0] for p in files if p.startswith(prefix)})
        if not children:
            raise _HTTPError(404, "Not Found")
        listing = []
        for child in children:
            child_path = prefix + child
            if child_path in files:
                entry = self._content_json(full, child_path, files[child_path], context.api)
                del entry["content"], entry["encoding"]
            else:
                entry = self._content_json(full, child_path, None, context.api)
            listing.append(entry)
        return _Reply(200, listing)

    def _get_permission(self, context: _Context, owner: str, repo: str, username: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        role = self._role(full, username)
        user = self._user_json(username, context.api)
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        user["role_name"] = role
        return _Reply(200, {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": user})

    def _get_team_membership(self, context: _Context, org: str, team: str, username: str) -> _Reply:
        members = next(
            (m for (o, t), m in self.teams.items() if o.lower() == org.lower() and t.lower() == team.lower()),
            set(),
        )
        if username.lower() not in {m.lower() for m in members}:
            raise _HTTPError(404, "Not Found")
        return _Reply(
            200,
            {
                "url": f"{context.api}/organizations/{self._user(org)['id']}/team/{team}/memberships/{username}",
                "role": "member",
                "state": "active",
            },
        )

    def _list_team_members(self, context: _Context, org: str, team: str) -> _Reply:
        members = next(
            (m for (o, t), m in self.teams.items() if o.lower() == org.lower() and t.lower() == team.lower()),
            None,
        )
        if members is None:
            raise _HTTPError(404, "Not Found")
        return _Reply(200, [self._user_json(login, context.api) for login in sorted(members)])

    def _list_collaborators(self, context: _Context, owner: str, repo: str) -> _Reply:
        """Collaborators with at least `permission` (pull, triage, push, maintain, admin)."""
        full = self._repo_for(context, owner, repo)
        wanted = {"pull": "read", "push": "write"}.get(context.query.get("permission", "pull"), context.query.get("permission", "pull"))
        if wanted not in ROLES:
            raise _HTTPError(422, "Validation Failed")
        logins = [login for (r, login), _ in self.permissions.items() if r == full]
        owner_login = self.repositories[full]["owner"]
        if self._user(owner_login)["type"] == "User" and owner_login not in logins:
            logins.insert(0, owner_login)
        rank = {role: len(ROLES) - i for i, role in enumerate(ROLES)}
        chosen = [login for login in logins if rank[self._role(full, login)] >= rank[wanted] and self._role(full, login) != "none"]
        return _Reply(200, [self._user_json(login, context.api) for login in chosen])

    def _post_issue(self, context: _Context, owner: str, repo: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        body = _object(context.body)
        if not body.get("title"):
            raise _HTTPError(422, "Validation Failed", [{"resource": "Issue", "code": "missing_field", "field": "title"}])
        issue = self._create_issue(full, str(body["title"]), body.get("body") or "", BOT_LOGIN)
        self._bot_event(context, "issues", "opened", full, issue=issue)
        for name in _label_names(body.get("labels") or []):
            if self._attach_label(full, issue, name, BOT_LOGIN):
                self._bot_event(context, "issues", "labeled", full, issue=issue, extra={"label": self._label_json(full, name, context.api)})
        for login in _logins(body):
            self._assign(context, full, issue, login)
        return _Reply(201, self._issue_json(full, issue, context.api))

    def _list_issues(self, context: _Context, owner: str, repo: str) -> _Reply:
        """Issues and pull requests, newest first, filtered by state, creator, labels and since."""
        full = self._repo_for(context, owner, repo)
        query = context.query
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(query.get("page", 1)))
        except ValueError as exc:
            raise _HTTPError(422, "Validation Failed") from exc
        state = query.get("state", "open")
        wanted = [n for n in query.get("labels", "").split(",") if n]
        found = [
            issue for issue in self.issues[full].values()
            if state in ("all", issue["state"])
            and query.get("creator") in (None, issue["user"])
            and all(n in issue["labels"] for n in wanted)
            and issue["updated_at"] >= query.get("since", "")
        ]
        found.sort(key=lambda issue: issue["number"], reverse=query.get("direction", "desc") == "desc")
        chunk = found[(page - 1) * per_page : page * per_page]
        return _Reply(200, [self._issue_json(full, issue, context.api) for issue in chunk])

    def _get_issue(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        return _Reply(200, self._issue_json(full, self._issue_or_404(full, number), context.api))

    def _patch_issue(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        body = _object(context.body)
        changes = self._edit_issue(issue, body=body.get("body"), title=body.get("title"))
        if changes:
            self._bot_event(context, self._kind(issue), "edited", full, issue=issue, extra={"changes": changes})
        if "labels" in body:
            self._replace_labels(context, full, issue, _label_names(body["labels"] or []))
        if "assignees" in body or "assignee" in body:
            wanted = _logins(body)
            for login in [a for a in issue["assignees"] if a not in wanted]:
                self._unassign(context, full, issue, login)
            for login in wanted:
                self._assign(context, full, issue, login)
        state = body.get("state")
        if state in ("open", "closed") and state != issue["state"]:
            reason = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
            self._set_state(issue, state, BOT_LOGIN, reason)
            self._bot_event(context, self._kind(issue), "closed" if state == "closed" else "reopened", full, issue=issue)
        elif state not in (None, "open", "closed"):
            raise _HTTPError(422, "Validation Failed", [{"resource": "Issue", "code": "invalid", "field": "state"}])
        return _Reply(200, self._issue_json(full, issue, context.api))

    def _list_comments(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(context.query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(context.query.get("page", 1)))
        except ValueError as exc:
            raise _HTTPError(422, "Validation Failed") from exc
        ids = issue["comment_ids"]
        since = context.query.get("since")
        if since:  # GitHub: only comments last updated at or after this time
            ids = [i for i in ids if self.comments[i]["updated_at"] >= since]
        chunk = ids[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(ids) // per_page))
        url = f"{context.api}/repos/{full}/issues/{issue['number']}/comments"
        links = []
        if page < last:
            links.append(f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{url}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{url}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{url}?per_page={per_page}&page={page - 1}>; rel="prev"')
        headers = {"link": ", ".join(links)} if links else {}
        return _Reply(200, [self._comment_json(self.comments[i], context.api) for i in chunk], headers)

    def _post_comment(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        body = _object(context.body).get("body")
        if not isinstance(body, str) or not body:
            raise _HTTPError(422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
        comment = self._create_comment(full, issue, body, BOT_LOGIN)
        self._bot_event(context, "issue_comment", "created", full, issue=issue, comment=comment)
        return _Reply(201, self._comment_json(comment, context.api))

    def _get_comment(self, context: _Context, owner: str, repo: str, comment_id: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        return _Reply(200, self._comment_json(self._comment_or_404(full, comment_id), context.api))

    def _patch_comment(self, context: _Context, owner: str, repo: str, comment_id: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        comment = self._comment_or_404(full, comment_id)
        body = _object(context.body).get("body")
        if not isinstance(body, str) or not body:
            raise _HTTPError(422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
        old = comment["body"]
        self._edit_comment(comment, body)
        issue = self._issue(full, comment["issue_number"])
        self._bot_event(context, "issue_comment", "edited", full, issue=issue, comment=comment, extra={"changes": {"body": {"from": old}}})
        return _Reply(200, self._comment_json(comment, context.api))

    def _delete_comment(self, context: _Context, owner: str, repo: str, comment_id: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        comment = self._comment_or_404(full, comment_id)
        issue = self._issue(full, comment["issue_number"])
        issue["comment_ids"].remove(comment["id"])
        self.deleted_comments[comment["id"]] = self.comments.pop(comment["id"])
        self._bot_event(context, "issue_comment", "deleted", full, issue=issue, comment=comment)
        return _Reply(204)

    def _list_labels(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        return _Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _add_labels(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for name in _label_names(context.body):
            if self._attach_label(full, issue, name, BOT_LOGIN):
                self._bot_event(context, self._kind(issue), "labeled", full, issue=issue, extra={"label": self._label_json(full, name, context.api)})
        return _Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _set_labels(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        self._replace_labels(context, full, issue, _label_names(context.body))
        return _Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _clear_labels(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        self._replace_labels(context, full, issue, [])
        return _Reply(204)

    def _remove_label(self, context: _Context, owner: str, repo: str, number: str, name: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        present = next((n for n in issue["labels"] if n.lower() == name.lower()), None)
        if present is None:
            raise _HTTPError(404, "Label does not exist")
        self._detach_label(issue, present, BOT_LOGIN)
        self._bot_event(context, self._kind(issue), "unlabeled", full, issue=issue, extra={"label": self._label_json(full, present, context.api)})
        return _Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _add_assignees(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for login in _logins(_object(context.body)):
            self._assign(context, full, issue, login)
        return _Reply(201, self._issue_json(full, issue, context.api))

    def _remove_assignees(self, context: _Context, owner: str, repo: str, number: str) -> _Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for login in _logins(_object(context.body)):
            if login in issue["assignees"]:
                self._unassign(context, full, issue, login)
        return _Reply(200, self._issue_json(full, issue, context.api))

    # ------------------------------------------------------------------
    # State changes shared by the API and the seed helpers

    def _new_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _add_user(self, login: str, type: str) -> dict:
        user = self.users.get(login)
        if user is None:
            user = self.users[login] = {"id": self._new_id("user"), "type": type}
        else:
            user["type"] = type
        return user

    def _user(self, login: str) -> dict:
        user = self.users.get(login)
        if user is None:
            user = self._add_user(login, "Bot" if login.endswith("[bot]") else "User")
        return user

    def _issue(self, repo: str, number: int) -> dict:
        try:
            return self.issues[repo][int(number)]
        except KeyError:
            raise KeyError(f"no issue {repo}#{number}") from None

    def _pull(self, repo: str, number: int) -> dict:
        issue = self._issue(repo, number)
        if not issue["pull_request"]:
            raise KeyError(f"{repo}#{number} is an issue, not a pull request")
        return issue

    def _issue_or_404(self, repo: str, number: str) -> dict:
        issue = self.issues.get(repo, {}).get(int(number))
        if issue is None:
            raise _HTTPError(404, "Not Found")
        return issue

    def _comment(self, comment_id: int) -> dict:
        try:
            return self.comments[int(comment_id)]
        except KeyError:
            raise KeyError(f"no comment {comment_id}") from None

    def _comment_or_404(self, repo: str, comment_id: str) -> dict:
        comment = self.comments.get(int(comment_id))
        if comment is None or comment["repo"] != repo:
            raise _HTTPError(404, "Not Found")
        return comment

    def _kind(self, issue: dict) -> str:
        return "pull_request" if issue["pull_request"] else "issues"

    def _create_issue(self, repo: str, title: str, body: str, user: str) -> dict:
        if repo not in self.repositories:
            raise KeyError(f"no repository {repo}")
        self._user(user)
        number = max(self.issues[repo], default=0) + 1
        now = _iso(self.clock())
        issue = {
            "id": self._new_id("issue"),
            "repo": repo,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [],
            "assignees": [],
            "user": user,
            "html_url": f"{self.web_url}/{repo}/issues/{number}",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "closed_by": None,
            "locked": False,
            "pull_request": None,
            "comment_ids": [],
            "timeline": [],
            "seq": self._next_seq(),
        }
        self.issues[repo][number] = issue
        return issue

    def _create_comment(self, repo: str, issue: dict, body: str, user: str) -> dict:
        self._user(user)
        now = _iso(self.clock())
        comment_id = self._new_id("comment")
        page = "pull" if issue["pull_request"] else "issues"
        comment = {
            "id": comment_id,
            "repo": repo,
            "issue_number": issue["number"],
            "body": body,
            "user": user,
            "created_at": now,
            "updated_at": now,
            "html_url": f"{self.web_url}/{repo}/{page}/{issue['number']}#issuecomment-{comment_id}",
            "seq": self._next_seq(),
        }
        self.comments[comment_id] = comment
        issue["comment_ids"].append(comment_id)
        issue["updated_at"] = now
        return comment

    def _edit_comment(self, comment: dict, body: str) -> None:
        comment["body"] = body
        comment["updated_at"] = _iso(self.clock())

    def _edit_issue(self, issue: dict, body: str | None, title: str | None) -> dict:
        changes = {}
        if title is not None and title != issue["title"]:
            changes["title"] = {"from": issue["title"]}
            issue["title"] = title
        if body is not None and body != issue["body"]:
            changes["body"] = {"from": issue["body"]}
            issue["body"] = body
        if changes:
            issue["updated_at"] = _iso(self.clock())
        return changes

    def _set_state(self, issue: dict, state: str, actor: str, reason: str | None, kind: str | None = None) -> None:
        now = _iso(self.clock())
        issue["state"] = state
        issue["state_reason"] = reason
        issue["updated_at"] = now
        issue["closed_at"] = now if state == "closed" else None
        issue["closed_by"] = actor if state == "closed" else None
        text = {"merged": "merged this", "closed": "closed this", "open": "reopened this"}[kind or state]
        self._timeline(issue, actor, text)

    def _timeline(self, issue: dict, actor: str, text: str) -> None:
        issue["timeline"].append({"seq": self._next_seq(), "at": _iso(self.clock()), "actor": actor, "text": text})

    def _ensure_label(self, repo: str, name: str) -> dict:
        labels = self.labels.setdefault(repo, {})
        existing = next((k for k in labels if k.lower() == name.lower()), None)
        if existing is None:
            labels[name] = {"id": self._new_id("label"), "name": name, "color": "ededed", "description": None}
            existing = name
        return labels[existing]

    def _attach_label(self, repo: str, issue: dict, name: str, actor: str) -> bool:
        """Adds the label (created on first use, as GitHub does); False when already there."""
        label = self._ensure_label(repo, name)
        if label["name"] in issue["labels"]:
            return False
        issue["labels"].append(label["name"])
        issue["updated_at"] = _iso(self.clock())
        self._timeline(issue, actor, f"added the label {label['name']}")
        return True

    def _detach_label(self, issue: dict, name: str, actor: str) -> None:
        issue["labels"].remove(name)
        issue["updated_at"] = _iso(self.clock())
        self._timeline(issue, actor, f"removed the label {name}")

    def _replace_labels(self, context: _Context, repo: str, issue: dict, names: list[str]) -> None:
        wanted = [self._ensure_label(repo, n)["name"] for n in names]
        for name in [n for n in issue["labels"] if n not in wanted]:
            self._detach_label(issue, name, BOT_LOGIN)
            self._bot_event(context, self._kind(issue), "unlabeled", repo, issue=issue, extra={"label": self._label_json(repo, name, context.api)})
        for name in wanted:
            if self._attach_label(repo, issue, name, BOT_LOGIN):
                self._bot_event(context, self._kind(issue), "labeled", repo, issue=issue, extra={"label": self._label_json(repo, name, context.api)})

    def _assign(self, context: _Context, repo: str, issue: dict, login: str) -> None:
        if login in issue["assignees"]:
            return
        self._user(login)
        issue["assignees"].append(login)
        issue["updated_at"] = _iso(self.clock())
        self._timeline(issue, BOT_LOGIN, f"assigned @{login}")
        self._bot_event(context, self._kind(issue), "assigned", repo, issue=issue, extra={"assignee": self._user_json(login, context.api)})

    def _unassign(self, context: _Context, repo: str, issue: dict, login: str) -> None:
        issue["assignees"].remove(login)
        issue["updated_at"] = _iso(self.clock())
        self._timeline(issue, BOT_LOGIN, f"unassigned @{login}")
        self._bot_event(context, self._kind(issue), "unassigned", repo, issue=issue, extra={"assignee": self._user_json(login, context.api)})

    def _role(self, repo: str, login: str) -> str:
        role = next((p for (r, l), p in self.permissions.items() if r == repo and l.lower() == login.lower()), None)
        if role is not None:
            return role
        if login.lower() == self.repositories[repo]["owner"].lower():
            return "admin"
        return "none" if self.repositories[repo]["private"] else "read"

    def _association(self, repo: str, login: str) -> str:
        if login.lower() == self.repositories[repo]["owner"].lower():
            return "OWNER"
        if self.permissions.get((repo, login), "none") in ("admin", "maintain", "write", "triage"):
            return "COLLABORATOR"
        return "NONE"

    # ------------------------------------------------------------------
    # Webhook deliveries

    def _template(self, event: str, action: str) -> dict:
        """GitHub's example delivery, shared: read it, never change it."""
        key = (event, action)
        if key not in self._templates:
            template: dict = {}
            if self.payloads_dir is not None:
                path = self.payloads_dir / event / f"{action}.payload.json"
                if path.is_file():
                    template = json.loads(path.read_text(encoding="utf-8"))
            self._templates[key] = template
        return self._templates[key]

    def _delivery(
        self,
        event: str,
        action: str,
        repo: str,
        sender: str,
        api: str,
        installation_id: int | None,
        *,
        issue: dict | None = None,
        comment: dict | None = None,
        extra: dict | None = None,
    ) -> dict:
        template = self._template(event, action)
        parts: dict[str, Any] = {"action": action}
        if issue is not None:
            if event == "pull_request":
                parts["number"] = issue["number"]
                parts["pull_request"] = _overlay(template.get("pull_request"), self._pull_json(repo, issue, api))
            else:
                parts["issue"] = _overlay(template.get("issue"), self._issue_json(repo, issue, api))
        if comment is not None:
            parts["comment"] = _overlay(template.get("comment"), self._comment_json(comment, api))
        for key, value in (extra or {}).items():
            parts[key] = _overlay(template.get(key), value) if key in ("label", "assignee") else value
        parts["repository"] = _overlay(template.get("repository"), self._repo_json(repo, api))
        owner = self.repositories[repo]["owner"]
        if self._user(owner)["type"] == "Organization":
            parts["organization"] = self._org_json(owner, api)
        parts["sender"] = _overlay(template.get("sender"), self._user_json(sender, api))
        if installation_id is not None:
            parts["installation"] = {"id": installation_id, "node_id": _node_id("IntegrationInstallation", installation_id)}
        ordered = {key: parts[key] for key in template if key in parts}
        ordered.update({key: value for key, value in parts.items() if key not in ordered})
        return ordered

    def _bot_event(self, context: _Context, event: str, action: str, repo: str, **kwargs: Any) -> None:
        payload = self._delivery(event, action, repo, BOT_LOGIN, context.api, context.installation_id, **kwargs)
        self.events.append((event, payload))

    def _human(self, event: str, action: str, repo: str, login: str, **kwargs: Any) -> tuple[str, dict]:
        payload = self._delivery(event, action, repo, login, self.api_url, self._installation_of(repo), **kwargs)
        self.human_events.append((event, payload))
        return event, payload

    # ------------------------------------------------------------------
    # JSON as GitHub returns it

    def _user_json(self, login: str, api: str) -> dict:
        user = self._user(login)
        url = f"{api}/users/{quote(login)}"
        html = f"{self.web_url}/apps/{login.removesuffix('[bot]')}" if user["type"] == "Bot" else f"{self.web_url}/{login}"
        return {
            "login": login,
            "id": user["id"],
            "node_id": _node_id(user["type"], user["id"]),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user['id']}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user["type"],
            "user_view_type": "public",
            "site_admin": False,
        }

    def _org_json(self, login: str, api: str) -> dict:
        org = self._user(login)
        url = f"{api}/orgs/{login}"
        return {
            "login": login,
            "id": org["id"],
            "node_id": _node_id("Organization", org["id"]),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org['id']}?v=4",
            "description": None,
        }

    def _repo_json(self, full: str, api: str, full_model: bool = False) -> dict:
        record = self.repositories[full]
        url = f"{api}/repos/{full}"
        html = f"{self.web_url}/{full}"
        web_host = self.web_url.split("://", 1)[-1]
        open_count = sum(1 for i in self.issues.get(full, {}).values() if i["state"] == "open")
        data = {
            "id": record["id"],
            "node_id": _node_id("Repository", record["id"]),
            "name": record["name"],
            "full_name": full,
            "private": record["private"],
            "owner": self._user_json(record["owner"], api),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": url,
            "forks_url": f"{url}/forks",
            "keys_url": f"{url}/keys{{/key_id}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "teams_url": f"{url}/teams",
            "hooks_url": f"{url}/hooks",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "events_url": f"{url}/events",
            "assignees_url": f"{url}/assignees{{/user}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "tags_url": f"{url}/tags",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "languages_url": f"{url}/languages",
            "stargazers_url": f"{url}/stargazers",
            "contributors_url": f"{url}/contributors",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "commits_url": f"{url}/commits{{/sha}}",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "comments_url": f"{url}/comments{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "merges_url": f"{url}/merges",
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{url}/downloads",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "labels_url": f"{url}/labels{{/name}}",
            "releases_url": f"{url}/releases{{/id}}",
            "deployments_url": f"{url}/deployments",
            "created_at": record["created_at"],
            "updated_at": record["created_at"],
            "pushed_at": record["created_at"],
            "git_url": f"git://{web_host}/{full}.git",
            "ssh_url": f"git@{web_host}:{full}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": sum(len(v) for v in record["files"].values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if record["private"] else "public",
            "forks": 0,
            "open_issues": open_count,
            "watchers": 0,
            "default_branch": record["default_branch"],
            "custom_properties": {},
        }
        if full_model:
            data.update(temp_clone_token=None, network_count=0, subscribers_count=0)
        return data

    def _label_json(self, repo: str, name: str, api: str) -> dict:
        label = self._ensure_label(repo, name)
        return {
            "id": label["id"],
            "node_id": _node_id("Label", label["id"]),
            "url": f"{api}/repos/{repo}/labels/{quote(label['name'], safe='')}",
            "name": label["name"],
            "color": label["color"],
            "default": False,
            "description": label["description"],
            "archived_at": None,
            "archived_by": None,
        }

    def _reactions(self, url: str) -> dict:
        counts = dict.fromkeys(["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"], 0)
        return {"url": f"{url}/reactions", "total_count": 0, **counts}

    def _issue_json(self, repo: str, issue: dict, api: str) -> dict:
        url = f"{api}/repos/{repo}/issues/{issue['number']}"
        assignees = [self._user_json(a, api) for a in issue["assignees"]]
        data = {
            "url": url,
            "repository_url": f"{api}/repos/{repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": issue["html_url"],
            "id": issue["id"],
            "node_id": _node_id("Issue", issue["id"]),
            "number": issue["number"],
            "title": issue["title"],
            "user": self._user_json(issue["user"], api),
            "labels": [self._label_json(repo, n, api) for n in issue["labels"]],
            "state": issue["state"],
            "locked": issue["locked"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(issue["comment_ids"]),
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "author_association": self._association(repo, issue["user"]),
            "active_lock_reason": None,
            "body": issue["body"],
            "closed_by": self._user_json(issue["closed_by"], api) if issue["closed_by"] else None,
            "reactions": self._reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue["state_reason"],
        }
        pull = issue["pull_request"]
        if pull:
            html = f"{self.web_url}/{repo}/pull/{issue['number']}"
            data["html_url"] = html
            data["draft"] = False
            data["pull_request"] = {
                "url": f"{api}/repos/{repo}/pulls/{issue['number']}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": pull["merged_at"],
            }
        return data

    def _pull_json(self, repo: str, issue: dict, api: str) -> dict:
        pull = issue["pull_request"]
        number = issue["number"]
        url = f"{api}/repos/{repo}"
        html = f"{self.web_url}/{repo}/pull/{number}"
        head_owner = self.repositories[pull["head_repo"]]["owner"]
        assignees = [self._user_json(a, api) for a in issue["assignees"]]
        links = {
            "self": f"{url}/pulls/{number}",
            "html": html,
            "issue": f"{url}/issues/{number}",
            "comments": f"{url}/issues/{number}/comments",
            "review_comments": f"{url}/pulls/{number}/comments",
            "review_comment": f"{url}/pulls/comments{{/number}}",
            "commits": f"{url}/pulls/{number}/commits",
            "statuses": f"{url}/statuses/{pull['head_sha']}",
        }
        return {
            "url": links["self"],
            "id": pull["id"],
            "node_id": _node_id("PullRequest", pull["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": links["issue"],
            "number": number,
            "state": issue["state"],
            "locked": issue["locked"],
            "title": issue["title"],
            "user": self._user_json(issue["user"], api),
            "body": issue["body"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "merged_at": pull["merged_at"],
            "merge_commit_sha": pull["merge_commit_sha"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self._label_json(repo, n, api) for n in issue["labels"]],
            "milestone": None,
            "draft": False,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "head": {
                "label": f"{head_owner}:{pull['head_ref']}",
                "ref": pull["head_ref"],
                "sha": pull["head_sha"],
                "user": self._user_json(head_owner, api),
                "repo": self._repo_json(pull["head_repo"], api),
            },
            "base": {
                "label": f"{self.repositories[repo]['owner']}:{pull['base_ref']}",
                "ref": pull["base_ref"],
                "sha": pull["base_sha"],
                "user": self._user_json(self.repositories[repo]["owner"], api),
                "repo": self._repo_json(repo, api),
            },
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": self._association(repo, issue["user"]),
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": pull["merged"],
            "mergeable": None if issue["state"] == "closed" else True,
            "rebaseable": None if issue["state"] == "closed" else True,
            "mergeable_state": "unknown" if issue["state"] == "closed" else "clean",
            "merged_by": self._user_json(pull["merged_by"], api) if pull["merged_by"] else None,
            "comments": len(issue["comment_ids"]),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    def _comment_json(self, comment: dict, api: str) -> dict:
        repo = comment["repo"]
        url = f"{api}/repos/{repo}/issues/comments/{comment['id']}"
        return {
            "url": url,
            "html_url": comment["html_url"],
            "issue_url": f"{api}/repos/{repo}/issues/{comment['issue_number']}",
            "id": comment["id"],
            "node_id": _node_id("IssueComment", comment["id"]),
            "user": self._user_json(comment["user"], api),
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "author_association": self._association(repo, comment["user"]),
            "body": comment["body"],
            "reactions": self._reactions(url),
            "performed_via_github_app": None,
        }

    def _content_json(self, repo: str, path: str, text: str | None, api: str) -> dict:
        """A file's JSON with its base64 content, or a directory entry when `text` is None."""
        branch = self.repositories[repo]["default_branch"]
        url = f"{api}/repos/{repo}/contents/{quote(path)}?ref={branch}"
        name = path.rsplit("/", 1)[-1]
        if text is None:
            sha = hashlib.sha1(path.encode()).hexdigest()
            html = f"{self.web_url}/{repo}/tree/{branch}/{path}"
            git = f"{api}/repos/{repo}/git/trees/{sha}"
            return {
                "type": "dir", "size": 0, "name": name, "path": path, "sha": sha, "url": url,
                "git_url": git, "html_url": html, "download_url": None,
                "_links": {"self": url, "git": git, "html": html},
            }
        data = text.encode("utf-8")
        sha = _blob_sha(data)
        encoded = base64.b64encode(data).decode("ascii")
        html = f"{self.web_url}/{repo}/blob/{branch}/{path}"
        git = f"{api}/repos/{repo}/git/blobs/{sha}"
        raw_host = self.web_url.replace("://", "://raw.", 1) if self.web_url.endswith("github.com") else self.web_url + "/raw"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": name,
            "path": path,
            "content": "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60)),
            "sha": sha,
            "url": url,
            "git_url": git,
            "html_url": html,
            "download_url": f"{raw_host}/{repo}/{branch}/{path}",
            "_links": {"self": url, "git": git, "html": html},
        }


_MALFORMED = object()


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error(status: int, message: str, errors: list | None = None) -> _Reply:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
    if errors:
        body["errors"] = errors
    return _Reply(status, body)


def _encode(reply: _Reply) -> bytes:
    if reply.status == 204 or reply.body is None:
        return b""
    return json.dumps(reply.body).encode("utf-8")


def _object(body: Any) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _HTTPError(422, "Invalid request.\n\nThe body must be a JSON object.")
    return body


def _label_names(body: Any) -> list[str]:
    """Label names from any form GitHub accepts: a list or {"labels": list}, of names or {"name": ...}."""
    if isinstance(body, dict):
        body = body.get("labels", [])
    if isinstance(body, str):
        body = [body]
    if not isinstance(body, list):
        raise _HTTPError(422, "Invalid request.\n\nThe labels must be a list.")
    names = []
    for item in body:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise _HTTPError(422, "Validation Failed", [{"resource": "Label", "code": "invalid", "field": "name"}])
        names.append(name)
    return names


def _logins(body: dict) -> list[str]:
    logins = body.get("assignees")
    if logins is None:
        logins = [body["assignee"]] if body.get("assignee") else []
    if isinstance(logins, str):
        logins = [logins]
    return [login for login in logins if isinstance(login, str) and login]


def _show_time(stamp: str) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC")


def _indented(body: str | None) -> str:
    """The body as GitHub shows it (hidden comments removed), indented under its heading."""
    text = HTML_COMMENT.sub("", body or "").strip("\n")
    if not text.strip():
        text = "No description provided."
    return "\n".join(f"    {line}".rstrip() for line in text.splitlines())
