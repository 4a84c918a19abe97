"""The procurement the benchmarks play: opportunities, bidders, bids.

Opportunities are issues whose body is the rendered issue form
(`render_opportunity_form`) labelled `opportunity` by an issuer; bidders
`/register` once and then `/bid AMOUNT` with a proposal of a few hundred
characters. Every delivery comes from the simulated GitHub, so its payload is
shaped like GitHub's own (built from tests/fixtures/github-payloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from bench.deploy import Deployment, delivery
from bot.procurement.form import MilestoneSpec, OpportunityForm, render_opportunity_form

ISSUER = "pm-alice"
CONFIG = "label: opportunity\nbidding: sealed\n"
PROPOSAL = (
    "We will profile the build, cache the dependency layer and split the test stage "
    "so that it runs in parallel across the runners you already have. Two developers, "
    "three weeks; weekly demos; every change behind a pull request with its own tests. "
    "References and the CVs of both developers are available on request."
)


def opportunity_body(value: int = 9500, days: int = 30) -> str:
    deadline = (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)
    half = Decimal(value) / 2
    form = OpportunityForm(
        value=Decimal(value),
        deadline=deadline,
        problem="The build takes 40 minutes; we need it under 10 without dropping tests.",
        acceptance_criteria="A merged pull request; the main branch builds in under 10 minutes on the current runners.",
        milestones=(MilestoneSpec("Profile and plan", half), MilestoneSpec("Faster build merged", Decimal(value) - half)),
        evaluation_criteria="Approach 60%, price 40%.",
        skills="CI, caching, Python",
    )
    return render_opportunity_form(form)


def bidder(i: int) -> str:
    return f"bidder-{i:03d}"


def bid_text(amount: int, i: int = 0) -> str:
    return f"/bid {amount:,}.00\n{PROPOSAL} (proposal {i})"


@dataclass
class Procurement:
    """`opportunities` issues spread over `installations` installations, one repository each."""

    deployment: Deployment
    opportunities: int = 20
    installations: int = 1
    bidders: int = 50

    def __post_init__(self) -> None:
        self.repos = [f"dept-{i:02d}/procurement" for i in range(self.installations)]
        self.numbers: list[tuple[str, int]] = []

    def seed(self) -> None:
        """Repositories, installations and issues on the simulated GitHub (no webhook yet)."""
        sim = self.deployment.sim
        issues = []
        for i in range(self.opportunities):
            repo = self.repos[i % len(self.repos)]
            issues.append({"repo": repo, "title": f"Speed up the build ({i + 1})", "body": opportunity_body(), "user": ISSUER})
        answer = sim.setup(
            repos=[{"full_name": r, "files": {".github/devex.yml": CONFIG}} for r in self.repos],
            installations=[{"id": 5000 + i, "account": r.split("/")[0], "repos": [r]} for i, r in enumerate(self.repos)],
            permissions=[[r, ISSUER, "write"] for r in self.repos],
            issues=issues,
        )
        self.numbers = [(spec["repo"], n) for spec, n in zip(issues, answer["issues"])]

    def open_all(self) -> list[dict]:
        """The issuer labels every issue `opportunity`: one issues.labeled delivery each."""
        acts = [{"kind": "label", "repo": r, "number": n, "login": ISSUER, "label": "opportunity"} for r, n in self.numbers]
        return [delivery(e, p) for e, p in self.deployment.sim.human(acts)]

    def register_all(self) -> list[dict]:
        """Every bidder registers once, on the first opportunity of each installation's repository."""
        firsts = {}
        for r, n in self.numbers:
            firsts.setdefault(r, n)
        acts = [
            {"kind": "comment", "repo": r, "number": n, "login": bidder(b), "body": "/register"}
            for r, n in firsts.items()
            for b in range(self.bidders)
        ]
        return [delivery(e, p) for e, p in self.deployment.sim.human(acts)]

    def bids(self, per_opportunity: int, start_bidder: int = 0) -> list[dict]:
        """`per_opportunity` bids on every opportunity, interleaved as they would arrive."""
        acts = []
        for b in range(start_bidder, start_bidder + per_opportunity):
            for i, (r, n) in enumerate(self.numbers):
                acts.append({"kind": "comment", "repo": r, "number": n, "login": bidder(b % self.bidders), "body": bid_text(8000 + 10 * b, i)})
        return [delivery(e, p) for e, p in self.deployment.sim.human(acts)]
