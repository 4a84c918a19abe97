"""Faults on demand: errors, rate limits, timeouts and answers lost after GitHub acted."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from demo.github.rest import DOCS_URL, status_phrase


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    body: Any
    timeout: bool = False
    # GitHub applies the request, then the answer is lost (see lose_answer_next).
    applied: bool = False


class Faults:
    """The next matching requests fail the way GitHub (or the network) fails."""

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
                Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    times,
                    {k.lower(): str(v) for k, v in (headers or {}).items()},
                    body if body is not None else {"message": status_phrase(status), "documentation_url": DOCS_URL},
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
                Fault(method.upper(), re.compile(path_regex), 504, times, {}, None, timeout=True)
            )

    def lose_answer_next(self, method: str, path_regex: str, status: int | None = None, times: int = 1) -> None:
        """The next matching requests are applied (a comment is created...) but the
        client never learns it: a timeout (status None) or `status`, e.g. a 502 from a proxy."""
        with self.lock:
            self._faults.append(
                Fault(method.upper(), re.compile(path_regex), status or 504, times, {}, None, timeout=status is None, applied=True)
            )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None
