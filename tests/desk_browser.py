"""The desk in a real browser: the bot filled through signed webhooks and desk forms,
served by uvicorn on 127.0.0.1 (SQLite), and headless Chromium (Debian's
`chromium` and `chromium-driver`) driven by Selenium, with axe-core (installed
by `make browser`) for accessibility.

The person signs in through the simulated OAuth web flow from Python (GitHub's
own pages are not ours to check); the session cookie is then handed to
Chromium, which shows the desk as that person sees it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import respx

from tests.board_browser import AXE_TAGS, axe_violations, browser_world, chromium, free_port, require_browser, serving  # noqa: F401  (one browser harness)
from tests.conftest import REPO, Harness
from tests.desk_flows import CLIENT_ID, CLIENT_SECRET, DESK_SETTINGS, Browser, github_mock

ROOT = Path(__file__).resolve().parent.parent



def seed(harness) -> dict:
    """bob's desk worth looking at: a contract he did not win (his rank, score and
    notes), and an open opportunity he bid on twice from the desk."""
    from tests.evaluation_flows import close_bidding, labelled
    from tests.flows import open_opportunity

    number = close_bidding(harness)
    harness.comment(number, "pm-alice", "/score @bob 70 clear plan, but slower\n/score @carol 90 strong\n/score @dave 60")
    harness.comment(number, "pm-alice", "/award @carol")
    harness.comment(labelled(harness.sim, "devex:award-review")[-1]["number"], "admin-olga", "/approve")
    other = open_opportunity(harness, title="Make the forms accessible", deadline="2026-12-15")
    bob = Browser(harness)
    bob.sign_in("bob")
    bob.send("bid", opportunity=f"{REPO}#{other}", amount="4,000.00", proposal="An audit first, then the fixes.\n\n- Week 1: audit\n- Week 2: fixes")
    bob.send("bid", opportunity=f"{REPO}#{other}", amount="3,800.00", proposal="A cheaper plan.")
    return {"awarded": number, "open": other, "request": bob.last.url.params["request"], "bob": bob}


@contextlib.contextmanager
def served_desk() -> Iterator[tuple[str, dict]]:
    """Yields (base URL, what seed() made) while the app is served on 127.0.0.1."""
    with browser_world("desk") as (engine, sim, pem, clock):
        sim.oauth_app(CLIENT_ID, CLIENT_SECRET)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with respx.mock(assert_all_called=False) as router:
            router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
            github_mock(router, sim)
            router.route(host="127.0.0.1").pass_through()
            # The seeding browser talks to the app through ASGI at https://desk.test; Chromium over http.
            harness = Harness(engine, sim, pem, clock, **DESK_SETTINGS)
            seeded = seed(harness)
            served = Harness(engine, sim, pem, clock, **dict(DESK_SETTINGS, DEVEX_PUBLIC_URL=base))
            chromium_browser = Browser(served)
            chromium_browser.sign_in("bob")
            seeded["cookie"] = ("devex_session", chromium_browser.cookies.get("devex_session"))
            with serving(served.app, port, "desk"):
                yield base, seeded


