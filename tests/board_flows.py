"""Steps the board's tests share: opportunities in other repositories, a whole awarded
and paid procurement, and reading the board's pages through the app."""

from __future__ import annotations

import asyncio
from typing import Optional

import httpx

from tests.conftest import INSTALLATION, REPO
from tests.evaluation_flows import close_bidding, labelled
from tests.flows import bid, form_body, register

PRIVATE_REPO = "octo-org/secret-plans"
OFF_BOARD_REPO = "octo-org/internal-tools"
OTHER_ORG_REPO = "maple-dept/forms"
PRIVATE_TITLE = "Migrate the classified ledger"
OFF_BOARD_TITLE = "Tidy the internal dashboards"
SEALED_TEXT = "My secret approach: a zebra-striped cache"
SEALED_AMOUNT = "7,777.77"


def add_repository(sim, repo: str, private: bool = False, config: Optional[str] = None, installation: int = INSTALLATION) -> None:
    files = {".github/devex.yml": config} if config is not None else None
    sim.add_repo(repo, private=private, files=files)
    if installation not in sim.installations:
        sim.add_installation(installation, repo.split("/")[0], [])
    sim.installations[installation]["repositories"].append(repo)
    sim.set_permission(repo, "pm-alice", "write")
    sim.set_permission(repo, "admin-olga", "admin")


def open_in(harness, repo: str, title: str, author: str = "pm-alice", **form) -> int:
    """An issuer opens an issue from the form in `repo` and labels it; returns its number."""
    issue = harness.sim.open_issue(repo, title, form_body(**form), author)
    harness.act(harness.sim.human_label(repo, issue["number"], author, "opportunity"))
    harness.run()
    return issue["number"]


def awarded_and_paid(harness) -> int:
    """An opportunity of REPO bid on (sealed), scored, awarded to bob, approved, its first
    milestone merged and paid: the public record of a contract. Returns its number."""
    number = close_bidding(harness)
    harness.comment(number, "pm-alice", "/score @bob 90 strong plan\n/score @carol 70\n/score @dave 60")
    harness.comment(number, "pm-alice", "/award @bob")
    review = labelled(harness.sim, "devex:award-review")[-1]
    harness.comment(review["number"], "admin-olga", "/approve")
    harness.act(harness.sim.human_open_pull_request(REPO, "Cache the dependencies", f"Closes #{number}", "bob"))
    harness.run()
    pull = max(harness.sim.issues[REPO])
    harness.sim.add_review(REPO, pull, "pm-alice", "APPROVED")  # acceptance: a writer who is not the contractor approved it
    harness.act(harness.sim.human_merge_pull_request(REPO, pull, "pm-alice"))
    harness.run()
    harness.comment(number, "admin-olga", "/paid 1 EFT-2026-0042")
    return number


def sealed_bid(harness, repo: str, number: int, login: str = "erin", amount: str = SEALED_AMOUNT, text: str = SEALED_TEXT) -> None:
    harness.act(harness.sim.human_comment(repo, number, login, "/register"))
    harness.run()
    harness.act(harness.sim.human_comment(repo, number, login, f"/bid {amount}\n{text}"))
    harness.run()


def get(app, path: str, headers: Optional[dict] = None) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://board.test") as client:
            return await client.get(path, headers=headers or {})

    return asyncio.run(go())


__all__ = ["add_repository", "awarded_and_paid", "bid", "get", "open_in", "register", "sealed_bid"]
