"""A sequential model of a script of deliveries, and the check that the bot's
database and GitHub hold exactly what it predicts. For the slow suites; not a
test module.

The model applies each comment in the order it was sent on its issue: a
`/register` records the bidder once (registration is per person, not per
opportunity), a valid `/bid` adds a version to the bidder's proposal on that
opportunity, a refused one adds nothing, `/withdraw` withdraws the live
proposal. Every command comment gets exactly one reply.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Optional

from tests.conftest import REPO
from tests.flows import form_body
from tests.processes import Delivery, GitHubServer, delivery, delivery_statuses, money, proposals_by_issue, rows

ISSUER = "pm-alice"
VALUE = Decimal("9500.00")  # form_body's value: a bid above it is refused
PROPOSALS_RECEIVED = re.compile(r"\*\*(\d+)\*\* proposals? received")


@dataclass
class Sequential:
    github: GitHubServer
    deliveries: list[Delivery] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    # (issue, bidder) -> [(amount, proposal text, delivery id)] of the bids recorded, in order
    bids: dict[tuple[int, str], list[tuple[Decimal, str, str]]] = field(default_factory=lambda: defaultdict(list))
    withdrawn: set[tuple[int, str]] = field(default_factory=set)
    commands: Counter = field(default_factory=Counter)  # issue -> command comments: one reply each
    opportunities: list[int] = field(default_factory=list)
    refused_bids: int = 0
    withdrawals: int = 0

    def opportunity(self, title: Optional[str] = None) -> Delivery:
        """An issue opened from the form, then labelled `opportunity` by its issuer: the delivery."""
        deadline = (date.today() + timedelta(days=30)).isoformat()
        sim = self.github.sim
        issue = sim.open_issue(REPO, title or f"Opportunity {len(self.opportunities) + 1}", form_body(deadline=deadline), ISSUER)
        self.opportunities.append(issue["number"])
        return self._add(delivery(sim.human_label(REPO, issue["number"], ISSUER, "opportunity")))

    def comment(
        self,
        number: int,
        login: str,
        *,
        register: bool = False,
        amount: Optional[Decimal] = None,
        spelling: str = "en",
        withdraw: bool = False,
    ) -> Delivery:
        """`login` comments on issue `number`; the model applies it now (call in the order sent)."""
        key = (number, login)
        lines = ["/register"] if register else []
        if withdraw:
            lines.append("/withdraw")
        text = f"Proposal {len(self.bids[key]) + 1} of {login} on #{number}: we cache the dependencies."
        if amount is not None:
            lines += [f"/bid {spell(amount, spelling)}", text]
        d = self._add(delivery(self.github.sim.human_comment(REPO, number, login, "\n".join(lines))))
        if register:
            self.registered.add(login)
        if withdraw and self.bids[key] and key not in self.withdrawn:
            self.withdrawn.add(key)
            self.withdrawals += 1
        if amount is not None:
            if login in self.registered and 0 < amount <= VALUE:
                self.bids[key].append((amount, text, d.delivery_id))
                self.withdrawn.discard(key)
            else:
                self.refused_bids += 1
        self.commands[number] += 1
        return d

    def _add(self, d: Delivery) -> Delivery:
        self.deliveries.append(d)
        return d


def spell(amount: Decimal, spelling: str) -> str:
    """An amount as bidders type it: `9,500.00`, `$9500.00` or `9 500,00 $`."""
    if spelling == "dollar":
        return f"${amount}"
    if spelling == "fr":
        return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " $"
    return f"{amount:,.2f}"


def check_applied_exactly_once(engine, github: GitHubServer, model: Sequential) -> None:
    """The database and GitHub hold exactly what the sequential model predicts."""
    # Every delivery stored once and applied once.
    statuses = delivery_statuses(engine)
    assert set(statuses) == {d.delivery_id for d in model.deliveries}
    assert Counter(statuses.values()) == {"done": len(model.deliveries)}

    # One registration per bidder, and one audit record of it.
    registrations = Counter(r["login"] for r in rows(engine, "SELECT login FROM registrations"))
    assert registrations == Counter(model.registered), [login for login, n in registrations.items() if n > 1]
    audited = Counter(r["kind"] for r in rows(engine, "SELECT kind FROM audit_events"))
    assert audited["registered"] == len(model.registered)

    # Every proposal holds exactly its bids, as versions in the order sent.
    proposals = proposals_by_issue(engine)
    expected = {key: bids for key, bids in model.bids.items() if bids}
    assert set(proposals) == set(expected)
    for key, bids in expected.items():
        proposal = proposals[key]
        assert [v["version"] for v in proposal["versions"]] == list(range(1, len(bids) + 1)), key
        assert [(money(v["amount"]), v["text"], v["delivery_id"]) for v in proposal["versions"]] == bids, key
        assert proposal["current_version"] == len(bids), key
        assert money(proposal["amount"]) == bids[-1][0], key
        assert proposal["status"] == ("withdrawn" if key in model.withdrawn else "live"), key
        assert proposal["receipt_number"] == proposal["versions"][-1]["receipt_number"], key
    assert audited["bid_recorded"] == sum(len(b) for b in expected.values())
    assert audited["bid_withdrawn"] == model.withdrawals

    # GitHub: nothing the bot wrote was posted twice, and every command got one reply.
    markers = github.write_markers()
    assert [m for m, n in Counter(markers).items() if n > 1] == [], "comments posted twice"
    bodies = []
    for number in model.opportunities:
        comments = github.bot_comments(number)
        bodies += [c["body"] for c in comments]
        summaries = [c for c in comments if "devex-bot:summary" in c["body"]]
        assert len(summaries) == 1, f"#{number}: {len(summaries)} summary comments"
        # ... and its last edit, after everything, counts the live proposals.
        live = sum(1 for (n, login), bids in expected.items() if n == number and (n, login) not in model.withdrawn)
        assert PROPOSALS_RECEIVED.search(summaries[0]["body"]).group(1) == str(live), f"#{number}: summary out of date"
        assert len(comments) == 1 + model.commands[number], f"#{number}: {len(comments)} bot comments, {model.commands[number]} commands"
        # Sealed bidding: no bid is left readable on the issue.
        humans = [c for c in github.sim.issue_comments(REPO, number) if c["user"] != "devex-bot[bot]"]
        assert [c["body"] for c in humans if "/bid" in c["body"]] == []
    receipts = [body for body in bodies if "Proposal received" in body]
    assert len(receipts) == sum(len(b) for b in expected.values())
    for proposal in proposals.values():
        for version in proposal["versions"]:
            number = version["receipt_number"]
            assert sum(number in body for body in receipts) == 1, f"receipt {number} given {sum(number in b for b in receipts)} times"

    # Nothing owed to GitHub is left, and GitHub refused nothing.
    writes = Counter(r["status"] for r in rows(engine, "SELECT status FROM github_writes"))
    assert set(writes) == {"sent"}, writes
