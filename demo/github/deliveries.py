"""GitHub's side of webhook delivery, simulated: it sends, records, lists and redelivers.

`SimulatedGitHub` records what GitHub would deliver; this sends it to the app
as GitHub does (signed, with `X-GitHub-Delivery`), records every attempt with
its status code as the App's "Recent Deliveries" shows them, and serves the
two endpoints missed-delivery recovery uses, with the App's JWT:

- `GET /app/hook/deliveries`: newest first, `per_page` (at most 100) and a
  `cursor` given in the `Link` header's `rel="next"`;
- `POST /app/hook/deliveries/{id}/attempts`: 202, and the delivery is sent
  again a moment later (`flush`) with the same GUID, as a new attempt marked
  `redelivery`; 422 for an attempt older than three days, 404 for none.

`down = True` is the app stopped: attempts fail (status code 0) and nothing
reaches it. `answer_late_next` makes the next attempts reach the app but be
recorded as timed out (GitHub gave up after 10 s). Will move to demo/github/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from demo.github import SimulatedGitHub

# The app answers (headers, body) with a status code, or None when it did not answer.
Send = Callable[[dict, bytes], Optional[int]]

KEPT = timedelta(days=3)  # GitHub redelivers nothing older
FIRST_ID = 90_000_000_001
PER_PAGE = 30
MAX_PER_PAGE = 100
CURSOR_PREFIX = "v1_"


@dataclass(frozen=True)
class _Delivery:
    event: str
    action: Optional[str]
    body: bytes
    installation_id: Optional[int]
    repository_id: Optional[int]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class HookDeliveries:
    def __init__(self, sim: SimulatedGitHub, secret: str, send: Optional[Send] = None, clock: Optional[Callable[[], datetime]] = None):
        self.sim = sim
        self.secret = secret.encode()
        self.send = send
        self.clock = clock or sim.clock
        self.down = False
        self.attempts: list[dict] = []  # every attempt, oldest first, as GitHub lists them
        self.asked: list[str] = []  # the GUID of every redelivery asked for, in order
        self._deliveries: dict[str, _Delivery] = {}
        self._queued: list[str] = []
        self._late = 0
        self._next_id = FIRST_ID
        self._lock = threading.Lock()  # one send at a time, in order
        sim.add_routes(
            [
                ("GET", r"/app/hook/deliveries", "jwt", self._list),
                ("GET", r"/app/hook/deliveries/(?P<delivery_id>\d+)", "jwt", self._get),
                ("POST", r"/app/hook/deliveries/(?P<delivery_id>\d+)/attempts", "jwt", self._redeliver),
            ]
        )

    # -- sending

    def deliver(self, event: str, payload: dict, guid: Optional[str] = None) -> dict:
        """GitHub delivers `payload` once (a first attempt); returns the attempt."""
        installation = payload.get("installation") if isinstance(payload.get("installation"), dict) else {}
        repository = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        guid = guid or str(uuid.uuid4())
        with self.sim.lock:
            self._deliveries[guid] = _Delivery(event, action, json.dumps(payload).encode(), installation.get("id"), repository.get("id"))
        return self._attempt(guid, redelivery=False)

    def act(self, event_and_payload: tuple[str, dict]) -> dict:
        return self.deliver(*event_and_payload)

    def answer_late_next(self, times: int = 1) -> None:
        """The next attempts reach the app, but GitHub records them as timed out."""
        with self.sim.lock:
            self._late += times

    def flush(self) -> list[dict]:
        """GitHub sends the redeliveries asked for, in the order asked; their attempts."""
        with self.sim.lock:
            queued, self._queued = self._queued, []
        return [self._attempt(guid, redelivery=True) for guid in queued]

    def headers(self, guid: str) -> dict:
        delivery = self._deliveries[guid]
        return {
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": guid,
            "X-Hub-Signature-256": "sha256=" + hmac.new(self.secret, delivery.body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/simulated",
        }

    def _attempt(self, guid: str, redelivery: bool) -> dict:
        with self._lock:
            delivery = self._deliveries[guid]
            started = self.clock()
            with self.sim.lock:
                down, late = self.down or self.send is None, self._late > 0
                if late and not down:
                    self._late -= 1
            if down:
                code, status = 0, "failed to connect to host"
            else:
                answered = self.send(self.headers(guid), delivery.body)
                if answered is None or late:
                    code, status = 0, "timed out"
                else:
                    code, status = answered, "OK" if 200 <= answered < 300 else f"Invalid HTTP Response: {answered}"
            with self.sim.lock:
                record = {
                    "id": self._next_id,
                    "guid": guid,
                    "delivered_at": _iso(started),
                    "redelivery": redelivery,
                    "duration": 10.0 if status == "timed out" else 0.01,
                    "status": status,
                    "status_code": code,
                    "event": delivery.event,
                    "action": delivery.action,
                    "installation_id": delivery.installation_id,
                    "repository_id": delivery.repository_id,
                    "throttled_at": None,
                }
                self._next_id += 1
                self.attempts.append(record)
            return dict(record)

    # -- inspection

    def failed_guids(self) -> set[str]:
        """GUIDs with no successful attempt."""
        with self.sim.lock:
            ok = {a["guid"] for a in self.attempts if 200 <= a["status_code"] < 300}
            return {a["guid"] for a in self.attempts} - ok

    def asked_count(self, guid: str) -> int:
        with self.sim.lock:
            return self.asked.count(guid)

    def age(self, guid: str, by: timedelta) -> None:
        """Makes every attempt of `guid` older by `by` (as if it happened earlier)."""
        with self.sim.lock:
            for attempt in self.attempts:
                if attempt["guid"] == guid:
                    moment = datetime.strptime(attempt["delivered_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                    attempt["delivered_at"] = _iso(moment - by)

    # -- the REST endpoints (called by SimulatedGitHub.handle, under its lock)

    def _find(self, delivery_id: str) -> Optional[dict]:
        return next((a for a in self.attempts if a["id"] == int(delivery_id)), None)

    def _list(self, api: str, query: dict, body: Any) -> tuple[int, Any, dict]:
        try:
            per_page = max(1, min(int(query.get("per_page", PER_PAGE)), MAX_PER_PAGE))
        except ValueError:
            return 422, {"message": "Invalid per_page"}, {}
        cursor = query.get("cursor")
        newest_first = sorted(self.attempts, key=lambda a: a["id"], reverse=True)
        if cursor:
            if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX):].isdigit():
                return 422, {"message": "Invalid cursor"}, {}
            after = int(cursor[len(CURSOR_PREFIX):])
            newest_first = [a for a in newest_first if a["id"] < after]
        page = newest_first[:per_page]
        headers = {}
        if len(newest_first) > per_page:
            headers["link"] = f'<{api}/app/hook/deliveries?per_page={per_page}&cursor={CURSOR_PREFIX}{page[-1]["id"]}>; rel="next"'
        return 200, [dict(a) for a in page], headers

    def _get(self, api: str, query: dict, body: Any, delivery_id: str) -> tuple[int, Any, dict]:
        attempt = self._find(delivery_id)
        if attempt is None:
            return 404, {"message": "Not Found"}, {}
        delivery = self._deliveries[attempt["guid"]]
        return 200, {**attempt, "request": {"headers": self.headers(attempt["guid"]), "payload": json.loads(delivery.body)}}, {}

    def _redeliver(self, api: str, query: dict, body: Any, delivery_id: str) -> tuple[int, Any, dict]:
        attempt = self._find(delivery_id)
        if attempt is None:
            return 404, {"message": "Not Found"}, {}
        delivered_at = datetime.strptime(attempt["delivered_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if self.clock() - delivered_at > KEPT:
            return 422, {"message": "Validation Failed", "errors": [{"message": "Cannot redeliver deliveries older than 3 days"}]}, {}
        self.asked.append(attempt["guid"])
        self._queued.append(attempt["guid"])
        return 202, {}, {}
