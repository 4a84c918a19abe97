"""Steps the evaluation tests share: bidding closed, the bot's issues, the proposal boxes."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Optional

from demo.github import BOT_LOGIN
from tests.conftest import REPO
from tests.flows import SHA256, bid, open_opportunity, register

# The form's deadline (2026-11-20, 14:00 America/Toronto) is 19:00 UTC; a day later.
AFTER_DEADLINE = datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc)

BIDS = {
    "bob": ("8,000.00", "Bob's plan: cache the dependencies."),
    "carol": ("7,500.00", "Carol's plan: split the test suite."),
    "dave": ("9,000.00", "Dave's plan: a bigger runner."),
}

# A proposal box as `bot.messages.verbatim` writes it.
BOX = re.compile(r"^(?P<fence>`{3,})text\n(?P<text>.*?)\n(?P=fence)$", re.DOTALL | re.MULTILINE)


def close_bidding(harness, bids: Optional[dict] = None, withdraw: tuple[str, ...] = (), config: Optional[str] = None, **form) -> int:
    """An opportunity opened, bid on, and past its deadline; returns its number."""
    if config is not None:
        harness.sim.repositories[REPO]["files"][".github/devex.yml"] = config
    number = open_opportunity(harness, **form)
    bids = BIDS if bids is None else bids
    register(harness, number, *bids)
    for login, (amount, text) in bids.items():
        bid(harness, number, login, amount, text)
    for login in withdraw:
        harness.comment(number, login, "/withdraw")
    harness.clock.now = AFTER_DEADLINE
    harness.run()
    return number


def bot_issues(sim, repo: str = REPO) -> list[dict]:
    """Issues the app opened in `repo`, oldest first."""
    return [issue for _, issue in sorted(sim.issues[repo].items()) if issue["user"] == BOT_LOGIN]


def labelled(sim, label: str, repo: str = REPO) -> list[dict]:
    return [issue for issue in bot_issues(sim, repo) if label in issue["labels"]]


def pages(sim, issue: dict) -> list[str]:
    """The issue's body, then the app's comments on it."""
    comments = sim.issue_comments(issue["repo"], issue["number"])
    return [issue["body"], *(c["body"] for c in comments if c["user"] == BOT_LOGIN)]


def boxes(text: str) -> list[str]:
    return [m.group("text") for m in BOX.finditer(text)]


def outside_boxes(text: str) -> str:
    return BOX.sub("", text)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipts(harness, number: int) -> dict[str, str]:
    """The SHA-256 each bidder's latest receipt gave them, from the replies on the opportunity."""
    found = {}
    for body in harness.bot_comments(number):
        match = SHA256.search(body)
        if match and "Proposal received" in body:
            found[body.split()[0].lstrip("@")] = match.group(1)
    return found


def comment_on(harness, repo: str, number: int, login: str, body: str) -> None:
    harness.act(harness.sim.human_comment(repo, number, login, body))
    harness.run()
