"""How the app's calls reach GitHub: one connection pool for every call
(`KeptTransport`), httpx clients that keep no cookies (`CookielessGitHub`), and an
installation's token asked for by one thread at a time (`InstallationAuth`).
`bot.github.client.GitHubApp` puts them together."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx
from githubkit import AppInstallationAuthStrategy, GitHub


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
