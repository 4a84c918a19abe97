"""A board to look at in a real browser: a SQLite database filled through signed
webhooks (the real path), the app served by uvicorn on 127.0.0.1, and headless
Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium, with
axe-core (installed by `make browser`) for accessibility.

Used by tests/test_board_browser.py and by `python -m tests.board_screenshots`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from demo.github import SimulatedGitHub
from storage.db import make_engine
from storage.migrate import upgrade
from tests.board_flows import OTHER_ORG_REPO, add_repository, awarded_and_paid, open_in, sealed_bid
from tests.conftest import API, INSTALLATION, REPO, Clock, Harness

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LATER = "2026-12-15"

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)}))))
  .catch(e => done([{id: "axe-error", help: String(e), nodes: []}]));
"""


def browser_missing() -> Optional[str]:
    """What of Chromium, its driver and axe-core (`make browser`) is missing, if anything."""
    for path in (CHROMIUM, CHROMEDRIVER, AXE):
        if not path.exists():
            return f"{path} is missing: run `make browser`"
    return None


def require_browser() -> None:
    """For the browser tests' fixtures. Missing in CI: the test fails. Missing on a
    developer's machine where `make browser` could not install them (no apt): the
    browser tests are skipped, saying what is missing, so the rest still runs there."""
    missing = browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing + " (in CI this is a failure, not a skip)")
        pytest.skip(missing)


def seed(harness) -> dict:
    """A board worth looking at: a contract awarded and partly paid, open opportunities
    of two organizations with proposals, one closing soon. Returns their numbers."""
    sim = harness.sim
    add_repository(sim, OTHER_ORG_REPO)
    numbers = {"awarded": awarded_and_paid(harness)}  # the clock is now 2026-11-21 15:00 UTC
    numbers["forms"] = open_in(
        harness,
        OTHER_ORG_REPO,
        "Make the benefits application form accessible",
        value="6,500.00",
        deadline="2026-12-04",
        problem="Screen reader users cannot complete the application: errors are announced nowhere and two steps trap keyboard focus.",
        acceptance="The form passes WCAG 2.1 AA with axe and a manual screen reader check (NVDA and VoiceOver).",
        milestones="- Audit and plan: 1,500.00\n- Fixes: 5,000.00",
        skills="Accessibility, HTML, WCAG",
    )
    harness.clock.advance(hours=2)
    numbers["csv"] = open_in(
        harness,
        REPO,
        "Export grant payments to open data CSV",
        value="3,200.00",
        deadline=LATER,
        problem="Finance copies payments into a spreadsheet by hand each quarter before publishing them on open.canada.ca.",
        acceptance="A command writes the CSV in the published schema; tests cover the edge cases.",
        milestones=None,
        skills="Python, CSV, Open data",
    )
    harness.clock.advance(hours=3)
    numbers["translate"] = open_in(
        harness,
        OTHER_ORG_REPO,
        "Bilingual error messages for the forms API",
        value="4,800.00",
        deadline=LATER,
        problem="The API answers in English only; French-speaking users get English errors.",
        acceptance="Every error has English and French text chosen by Accept-Language.",
        milestones=None,
        skills="Go, i18n",
    )
    sealed_bid(harness, REPO, numbers["csv"], login="erin", amount="3,000.00")
    sealed_bid(harness, OTHER_ORG_REPO, numbers["forms"], login="frank", amount="6,000.00", text="An audit first.")
    sealed_bid(harness, OTHER_ORG_REPO, numbers["forms"], login="grace", amount="6,400.00", text="Fix as we go.")
    return numbers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def browser_world(name: str) -> Iterator[tuple]:
    """A SQLite file migrated, the app's key, the clock and the simulated GitHub with
    the usual repository, installation and people: (engine, sim, pem, clock). The
    board's and the desk's browser tests both start from it."""
    folder = Path(tempfile.mkdtemp(prefix=f"devex-{name}-"))
    engine = make_engine(f"sqlite:///{folder / (name + '.db')}")
    upgrade(engine)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    clock = Clock(datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc))
    sim = SimulatedGitHub(api_url=API, clock=clock)
    sim.add_repo(REPO)
    sim.add_installation(INSTALLATION, "octo-org", [REPO])
    sim.set_permission(REPO, "pm-alice", "write")
    sim.set_permission(REPO, "admin-olga", "admin")
    try:
        yield engine, sim, pem, clock
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def serving(app, port: int, name: str) -> Iterator[str]:
    """`app` served by uvicorn on 127.0.0.1:`port` in a thread; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"{name}-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name}'s server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def served_board() -> Iterator[tuple[str, dict]]:
    """Yields (base URL, numbers of seed()) while the app is served on 127.0.0.1."""
    with browser_world("board") as (engine, sim, pem, clock):
        with respx.mock(assert_all_called=False) as router:
            router.route(host="api.github.test").mock(side_effect=sim.respx_handler)
            harness = Harness(engine, sim, pem, clock)
            numbers = seed(harness)
        with serving(harness.app, free_port(), "board") as base:
            yield base, numbers


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1000):
    """Headless Chromium with nothing of its own reaching the network, in a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="devex-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver) -> list[dict]:
    """axe-core's violations of WCAG 2.0 and 2.1, levels A and AA, on the page shown."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    return driver.execute_async_script(RUN_AXE, AXE_TAGS)


def screenshot(driver, url: str, path: Path, width: int = 1280) -> None:
    """The whole page, as tall as it is."""
    driver.set_window_size(width, 1000)
    driver.get(url)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 20, 6000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
