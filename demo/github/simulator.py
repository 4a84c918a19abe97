"""An in-memory GitHub, shaped like its REST API v3 and its webhooks.

The tests, `devex-bot demo` and the benchmarks talk to this instead of
api.github.com. It answers the endpoints the bot uses with the JSON GitHub
returns (enough fields for githubkit's response models to validate), records
every request, issues and checks installation tokens, injects faults on
demand, and records the webhook deliveries GitHub would send for the app's
own actions (`events`), so a test can feed them back to the bot as GitHub
would.

Three ways in, all dispatching through `SimulatedGitHub.handle` (`demo.github.routes`):

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

import threading
from datetime import datetime
from pathlib import Path
from typing import Callable

from starlette.applications import Starlette
from starlette.routing import Route

from demo.github.auth import Auth, wall_now
from demo.github.comments import Comments
from demo.github.faults import Fault, Faults
from demo.github.inspection import Inspection
from demo.github.issues import Issues
from demo.github.labels import Labels
from demo.github.oauth import OAuth
from demo.github.people import People
from demo.github.repositories import Repositories
from demo.github.rest import BOT_LOGIN, RecordedRequest
from demo.github.reviews import Reviews
from demo.github.routes import Routes
from demo.github.seeding import Seeding
from demo.github.state import State
from demo.github.webhooks import Webhooks, default_payloads_dir


class SimulatedGitHub(Seeding, Faults, Inspection, People, Routes, Auth, OAuth, Repositories, Issues, Comments, Labels, Reviews, Webhooks, State):
    """GitHub's state and REST API, in memory. Every public method is thread-safe.

    Each base class is one concern, in its own module of `demo.github`; this
    class only creates the state they share.
    """

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
        self.clock = clock or wall_now
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.payloads_dir = Path(payloads_dir) if payloads_dir else default_payloads_dir()
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
        self.reviews: dict[tuple[str, int], list[dict]] = {}
        self.check_runs: dict[tuple[str, str], list[dict]] = {}
        self.statuses: dict[tuple[str, str], list[dict]] = {}
        self.requests: list[RecordedRequest] = []
        self.events: list[tuple[str, dict]] = []
        self.human_events: list[tuple[str, dict]] = []
        self.tokens: dict[str, dict] = {}
        self.token_requests: dict[int, int] = {}
        self.oauth_clients: dict[str, str] = {}
        self.oauth_codes: dict[str, dict] = {}
        self.user_tokens: dict[str, dict] = {}

        self._faults: list[Fault] = []
        self._templates: dict[tuple[str, str], dict] = {}
        self._next_id = {
            "user": 1000,
            "repo": 100_000,
            "issue": 200_000,
            "comment": 1_000_000,
            "label": 300_000,
            "pull": 400_000,
            "review": 500_000,
            "check": 600_000,
            "status": 700_000,
            "event": 800_000,
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
