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
import shutil
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from demo.github import SimulatedGitHub
from storage.db import make_engine
from storage.migrate import upgrade
from tests.board_browser import AXE_TAGS, axe_violations, browser_missing, chromium, free_port  # noqa: F401  (one browser harness)
from tests.conftest import API, INSTALLATION, REPO, Clock, Harness
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
    import uvicorn

    folder = Path(tempfile.mkdtemp(prefix="devex-desk-"))
    engine = make_engine(f"sqlite:///{folder / 'desk.db'}")
    upgrade(engine)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    clock = Clock(datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc))
    sim = SimulatedGitHub(api_url=API, clock=clock)
    sim.add_repo(REPO)
    sim.add_installation(INSTALLATION, "octo-org", [REPO])
    sim.set_permission(REPO, "pm-alice", "write")
    sim.set_permission(REPO, "admin-olga", "admin")
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
        server = uvicorn.Server(uvicorn.Config(served.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, name="desk-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the desk's server did not start")
            time.sleep(0.05)
        try:
            yield base, seeded
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)


