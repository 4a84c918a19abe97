"""The three ways in (respx, an httpx transport, ASGI) and the dispatch of each request to its endpoint.

Every request is recorded, may meet a fault, is authenticated (an app JWT or
an installation token) and answered by the endpoint its method and path name.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import time
from typing import Callable
from urllib.parse import parse_qsl, unquote

import httpx
from starlette.requests import Request
from starlette.responses import Response

from demo.github.rest import Context, HTTPError, RecordedRequest, Reply, error_reply, status_phrase

# GitHub Enterprise Server serves the REST API under this prefix.
ENTERPRISE_PREFIX = "/api/v3"

MALFORMED = object()


class Routes:
    """The transports, the dispatch and the table of endpoints."""

    def add_routes(self, table) -> None:
        """More endpoints: (method, path regex, "jwt" or "token", handler). A handler
        takes (api_url, query, body, **path_params) and returns (status, body, headers)."""

        def plain(handler: Callable) -> Callable[..., Reply]:
            def route(context: Context, **params: str) -> Reply:
                status, body, headers = handler(context.api, context.query, context.body, **params)
                return Reply(status, body, dict(headers or {}))

            return route

        with self.lock:
            self._routes.extend((m, re.compile(p), auth, plain(h)) for m, p, auth, h in table)

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
        return httpx.Response(reply.status, headers=reply.headers, content=encode_reply(reply), request=request)

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
        return Response(encode_reply(reply), status_code=reply.status, headers=reply.headers)

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        base_url: str,
    ) -> Reply:
        """Answers one request; every transport goes through here."""
        method = method.upper()
        prefix = ""
        if raw_path == ENTERPRISE_PREFIX or raw_path.startswith(ENTERPRISE_PREFIX + "/"):
            prefix, raw_path = ENTERPRISE_PREFIX, raw_path[len(ENTERPRISE_PREFIX):] or "/"
        try:
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                payload = dict(parse_qsl(body.decode("utf-8"))) if body else {}  # the OAuth token exchange
            else:
                payload = json.loads(body) if body else None
        except ValueError:
            payload = MALFORMED
        with self.lock:
            self.requests.append(
                RecordedRequest(method, unquote(raw_path), None if payload is MALFORMED else payload, dict(headers), dict(query))
            )
            fault = self._take_fault(method, unquote(raw_path))
            if fault is not None and not fault.applied:
                if fault.timeout:
                    return Reply(504, {"message": "simulated timeout"}, timeout=True)
                return Reply(fault.status, copy.deepcopy(fault.body), self._headers(fault.headers))
            if payload is MALFORMED:
                return error_reply(400, "Problems parsing JSON")
            context = Context(api=base_url.rstrip("/") + prefix, query=query, body=payload)
            for route_method, pattern, auth, handler in self._routes:
                match = pattern.fullmatch(raw_path)
                if match is None or route_method != method:
                    continue
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                try:
                    if auth == "jwt":
                        self._check_jwt(headers)
                    elif auth == "client":  # the OAuth token exchange: the client's id and secret in the body
                        pass
                    elif auth == "user":
                        context.user = self._check_user_token(headers)
                    elif auth == "basic":  # the App's client id and secret as HTTP basic credentials
                        self._check_client_basic(headers)
                    else:
                        context.installation_id = self._check_token(headers)
                    reply = handler(context, **params)
                except HTTPError as exc:
                    reply = error_reply(exc.status, exc.message, exc.errors)
                reply.headers = self._headers(reply.headers)
                if fault is not None:  # applied; now the answer is lost
                    return Reply(fault.status, {"message": status_phrase(fault.status)}, self._headers({}), timeout=fault.timeout)
                return reply
            return error_reply(404, "Not Found")

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

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Callable[..., Reply]]]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        issue = repo + r"/issues/(?P<number>\d+)"
        table = [
            ("POST", r"/login/oauth/access_token", "client", self._post_oauth_access_token_route),
            ("GET", r"/user", "user", self._get_user),
            ("DELETE", r"/applications/(?P<client_id>[^/]+)/token", "basic", self._delete_app_token),
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
            ("GET", issue + r"/events", "token", self._list_issue_events),
            ("POST", issue + r"/comments", "token", self._post_comment),
            ("GET", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._get_comment),
            ("PATCH", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._patch_comment),
            ("DELETE", repo + r"/issues/comments/(?P<comment_id>\d+)", "token", self._delete_comment),
            ("GET", issue + r"/labels", "token", self._list_labels),
            ("POST", issue + r"/labels", "token", self._add_labels),
            ("PUT", issue + r"/labels", "token", self._set_labels),
            ("DELETE", issue + r"/labels", "token", self._clear_labels),
            ("DELETE", issue + r"/labels/(?P<name>.+)", "token", self._remove_label),
            ("GET", repo + r"/pulls/(?P<number>\d+)/reviews", "token", self._list_reviews),
            ("GET", repo + r"/commits/(?P<sha>[^/]+)/check-runs", "token", self._list_check_runs),
            ("GET", repo + r"/commits/(?P<sha>[^/]+)/status", "token", self._combined_status),
            ("POST", issue + r"/assignees", "token", self._add_assignees),
            ("DELETE", issue + r"/assignees", "token", self._remove_assignees),
        ]
        return [(m, re.compile(p), auth, h) for m, p, auth, h in table]


def encode_reply(reply: Reply) -> bytes:
    if reply.status == 204 or reply.body is None:
        return b""
    return json.dumps(reply.body).encode("utf-8")
