"""How the app's calls reach GitHub: one connection pool for every githubkit call
(`KeptTransport`), httpx clients that keep no cookies (`CookielessGitHub`), an
installation's token asked for by one thread at a time (`InstallationAuth`), and
an installation's calls sent straight on a pool of their own once githubkit holds
its token (`DirectCalls`). `bot.github.client.GitHubApp` puts them together."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import quote, urlencode

import httpcore
import httpx
import orjson
from githubkit import AppInstallationAuthStrategy, GitHub
from pydantic_core import to_jsonable_python


class KeptTransport(httpx.BaseTransport):
    """One connection pool for every call the app makes.

    githubkit opens and closes a new httpx client for each request made outside
    its `with` block; with a transport of its own, each would build an SSL
    context (about 10 ms of CPU) and open a new connection. This transport
    outlives those clients: their `close` leaves it, and its connections, open.
    """

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


class NoCookies(httpx.Cookies):
    """A jar that keeps nothing: the app calls an API as an installation, with a token,
    and no cookie GitHub might set is any of its business. httpx reads every response
    for cookies to keep (building urllib's request and response objects for it): a
    twentieth of a call's CPU, for nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class CookielessGitHub(GitHub):
    """githubkit's client, its httpx clients keeping no cookies (`NoCookies`)."""

    def _create_sync_client(self) -> httpx.Client:
        client = super()._create_sync_client()
        # httpx's `cookies` setter would copy the jar into a plain one: its own attribute.
        client._cookies = NoCookies()
        return client


class OneTokenRequest(httpx.Auth):
    """githubkit's installation authentication, its token request made by one thread
    at a time. Threads of one process (the worker reading, the sender writing) that
    find no token cached at the same moment (an installation's first calls, the first
    after a 401 or after the token's hour) would each ask GitHub for one. The lock
    covers only the look in githubkit's cache and, on a miss, the token request: a
    thread that finds the token cached goes on at once, and no call is held by it."""

    def __init__(self, inner: httpx.Auth, lock: threading.Lock):
        self._inner = inner
        self._lock = lock

    def sync_auth_flow(self, request: httpx.Request):
        flow = self._inner.sync_auth_flow(request)
        try:
            with self._lock:
                outgoing = next(flow)
                while outgoing is not request:  # the token request; the next thread waits for its answer
                    outgoing = flow.send((yield outgoing))
            response = yield outgoing  # the call itself, with the token, outside the lock
            try:
                flow.send(response)
            except StopIteration:
                pass
        finally:
            flow.close()

    async def async_auth_flow(self, request: httpx.Request):
        # The app calls GitHub synchronously; an asynchronous caller gets githubkit's own
        # flow as it is (a threading lock must not block an event loop).
        flow = self._inner.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                outgoing = await flow.asend((yield outgoing))
        except StopAsyncIteration:
            pass
        finally:
            await flow.aclose()


@dataclass
class InstallationAuth(AppInstallationAuthStrategy):
    """AppInstallationAuthStrategy whose token requests go one at a time (`OneTokenRequest`)."""

    token_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def get_auth_flow(self, github) -> httpx.Auth:
        return OneTokenRequest(super().get_auth_flow(github), self.token_lock)


# Where an environment names a proxy, httpx's clients send through it (trust_env):
# there, every call keeps githubkit's path, which honours it.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def proxy_in_environment() -> bool:
    return any(os.environ.get(name) or os.environ.get(name.lower()) for name in PROXY_VARIABLES)


class DirectCalls:
    """An installation's REST call sent on httpcore's connection pool, with a token
    githubkit already holds: what githubkit and httpx's client do around the same
    request (building it, merging URLs, the auth flow's look in the cache, redirects,
    cookies, wrapping the response) cost half of a call's CPU (issue 18).

    The same request as githubkit's (its user agent, accept and cache headers, the
    token, the JSON body, the query as httpx writes it), on the same kind of pool as
    httpx's transport, so what tests see through respx is what GitHub sees. `bot.github.client.GitHubApp` falls
    back to githubkit for everything else: a call without a cached token (githubkit
    asks for it, one thread at a time), a redirect (githubkit follows it), a proxy
    in the environment."""

    def __init__(self, base_url: str, timeout: float, user_agent: str, accept: str):
        self.base = base_url.rstrip("/") + "/"
        # The origin parsed once; each call's URL built from its parts (httpcore would parse
        # the whole string again at every call).
        origin = httpx.URL(self.base)
        self._origin = (origin.raw_scheme, origin.raw_host, origin.port)
        self._prefix = origin.raw_path
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            # httpx's defaults
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )
        self._timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        self._headers = [(b"User-Agent", user_agent.encode()), (b"Accept", accept.encode()), (b"Cache-Control", b"no-cache")]

    def send(self, token: str, method: str, path: str, json: Any = None, params: Optional[dict] = None) -> httpcore.Response:
        """The response, read; raises what httpcore raises (or, under respx, httpx)."""
        target = self._prefix + quote(path.lstrip("/"), safe="/%:@!$&'()*+,;=-._~").encode("ascii")
        if params:
            # Values written as httpx writes them (true, false; nothing for None).
            written = {k: "true" if v is True else "false" if v is False else "" if v is None else v for k, v in params.items()}
            target += b"?" + urlencode(written).encode("ascii")
        scheme, host, port = self._origin
        url = httpcore.URL(scheme=scheme, host=host, port=port, target=target)
        headers = self._headers + [(b"Authorization", b"token " + token.encode())]
        content = None
        if json is not None:
            try:
                content = orjson.dumps(json)
            except TypeError:
                content = orjson.dumps(to_jsonable_python(json))
            headers.append((b"Content-Type", b"application/json"))
        return self._pool.request(method, url, headers=headers, content=content, extensions={"timeout": self._timeouts})

    def close(self) -> None:
        self._pool.close()
