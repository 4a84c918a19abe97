"""Steps of a procurement that many tests share: the form, opening, bidding."""

from __future__ import annotations

import re
from typing import Optional

from tests.conftest import REPO


def form_body(
    value: str = "9,500.00",
    deadline: str = "2026-11-20",
    problem: str = "The build takes 40 minutes.",
    acceptance: str = "CI finishes in under 5 minutes.",
    milestones: Optional[str] = "- Design: 4,500.00\n- Build: 5,000.00",
    evaluation: Optional[str] = "Approach 60%, price 40%.",
    skills: Optional[str] = "Python, GitHub Actions",
    french: bool = False,
) -> str:
    """An issue body as GitHub renders the shipped form (`_No response_` for empty)."""
    headings = (
        ["Valeur", "Date limite", "Problème", "Critères d'acceptation", "Jalons", "Critères d'évaluation", "Compétences"]
        if french
        else ["Value", "Proposal deadline", "Problem", "Acceptance criteria", "Milestones", "Evaluation criteria", "Skills"]
    )
    values = [value, deadline, problem, acceptance, milestones, evaluation, skills]
    return "\n\n".join(f"### {h}\n\n{v if v else '_No response_'}" for h, v in zip(headings, values)) + "\n"


def open_opportunity(harness, author: str = "pm-alice", title: str = "Speed up the build", **form) -> int:
    """A PM opens an issue from the form and labels it; returns the issue number."""
    sim = harness.sim
    issue = sim.open_issue(REPO, title, form_body(**form), author)
    harness.act(sim.human_label(REPO, issue["number"], author, "opportunity"))
    harness.run()
    return issue["number"]


def register(harness, number: int, *logins: str) -> None:
    for login in logins:
        harness.comment(number, login, "/register")


def bid(harness, number: int, login: str, amount: str, text: str = "I will cache the dependencies.") -> None:
    harness.comment(number, login, f"/bid {amount}\n{text}")


def last_reply(harness, number: int) -> str:
    return harness.bot_comments(number)[-1]


def english(body: str) -> str:
    """The English half of a bilingual message."""
    return body.split("\n---\n")[0]


def french(body: str) -> str:
    return body.split("\n---\n", 1)[1]


SHA256 = re.compile(r"`([0-9a-f]{64})`")
RECEIPT = re.compile(r"R-\d+-\d+\.\d+-[0-9A-F]{4}")
