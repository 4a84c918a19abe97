"""Evaluators read the sealed proposals: the evaluation issue opened at the deadline.

End to end: signed deliveries built from the real payloads, through POST
/webhooks, the worker and the sender, against the simulated GitHub; on SQLite
and PostgreSQL; with the review repository the opportunity's own (public),
another public one, and a private one.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from bot.messages import GITHUB_BODY_LIMIT
from storage import procurement as store
from tests.conftest import INSTALLATION, REPO
from tests.evaluation_flows import (
    BIDS,
    bot_issues,
    boxes,
    close_bidding,
    comment_on,
    labelled,
    outside_boxes,
    pages,
    receipts,
    sha256,
)
from tests.flows import english, french, last_reply

REVIEWS = "octo-org/evaluations"


def test_at_the_deadline_the_evaluators_get_every_live_proposal_in_full(harness, sim):
    hostile = "Plan with @carol and @octo-org/admins.\n```\n<details><summary>x</summary>`code`</details>\n````\n**bold** | pipe"
    bids = {**BIDS, "bob": ("8,000.00", hostile)}
    number = close_bidding(harness, bids=bids, withdraw=("dave",))

    [issue] = bot_issues(sim)
    assert issue["labels"] == ["devex:evaluation"]
    assert issue["title"] == "Evaluation: Speed up the build (#1) · Évaluation : Speed up the build (no 1)"
    assert sim.count_requests("POST", rf"^/repos/{REPO}/issues$") == 1
    body = issue["body"]
    en, fr = english(body), french(body)
    # Linked both ways: the issue names the opportunity, the summary names the issue.
    assert f"https://github.com/{REPO}/issues/{number}" in en
    summary = harness.bot_comments(number)[0]
    assert f"| Evaluation | {issue['html_url']} |" in summary
    # What and how: criteria, /score and /award, in both languages.
    assert "> Approach 60%, price 40%." in en and "`/score @bidder N [NOTE]`" in en and "`/award @bidder [REASON]`" in en
    assert "`/note @soumissionnaire N [REMARQUE]`" in fr and "`/attribuer @soumissionnaire [RAISON]`" in fr
    assert "2 to evaluate, 1 withdrawn (listed, without their text)" in en
    # Every live proposal in full: bidder, amount, submitted at, receipt, hash, text.
    with Session(harness.engine) as session:
        opportunity = store.opportunity_by_issue(session, REPO, number)
        rows = {p.bidder: p for p in store.proposals(session, opportunity.id)}
    for login in ("bob", "carol"):
        p = rows[login]
        assert f"### {'1' if login == 'bob' else '2'}. {login}" in body
        assert f"| {login} | ${p.amount:,.2f} · " in body
        assert p.receipt_number in body and p.sha256 in body
    assert "| 2026-11-02 15:00 UTC |" in body
    assert "Carol's plan: split the test suite." in body
    # The withdrawn proposal is listed as withdrawn, without its text.
    assert re.search(r"\| 3 \| dave \| \$9,000\.00 · 9\u00a0000,00\u00a0\$ \| .* \| \*\*withdrawn · retirée\*\* \|", body)
    assert "Dave's plan" not in body
    # Each box hashes to what its bidder's receipt said.
    shown = boxes(body)
    assert len(shown) == 2
    assert {sha256(text) for text in shown} == {receipts(harness, number)[b] for b in ("bob", "carol")}
    assert shown[0] == f"amount: 8000.00\n\n{hostile}"
    # The hostile text stays inside its box: nothing mentions anyone or renders outside it.
    assert "@carol" not in outside_boxes(body) and "<details>" not in outside_boxes(body)
    # The opportunity moved to evaluation; its summary counts, without scores.
    assert "devex:evaluation" in harness.labels(number)
    assert "2 proposals, 0 scored" in summary


def test_score_and_award_work_on_the_evaluation_issue(harness, sim):
    number = close_bidding(harness)
    [evaluation] = bot_issues(sim)
    harness.comment(evaluation["number"], "pm-alice", "/score @bob 80 clear plan\n/note @carol 70")
    reply = last_reply(harness, evaluation["number"])
    assert reply.startswith("@pm-alice")
    assert "**Score recorded:** 80/100 for the proposal of bob." in reply and "**Note consignée :** 70/100" in reply
    harness.comment(evaluation["number"], "pm-alice", "/award @bob")
    assert "**Award recommended:** bob, $8,000.00." in last_reply(harness, evaluation["number"])
    [_, review] = bot_issues(sim)
    assert review["labels"] == ["devex:award-review"]
    # The award review links to the evaluation issue.
    assert f"| Proposals in full | {evaluation['html_url']} |" in review["body"]
    assert "devex:review" in harness.labels(number)


def test_no_live_proposal_opens_no_evaluation_issue_and_the_issuers_are_told(harness, sim):
    number = close_bidding(harness, bids={"bob": BIDS["bob"]}, withdraw=("bob",))
    assert bot_issues(sim) == []
    assert sim.count_requests("POST", rf"^/repos/{REPO}/issues$") == 0
    notice = last_reply(harness, number)
    assert "### Bidding closed with no proposal" in notice and "@pm-alice" in notice
    assert "devex:evaluation" in harness.labels(number)


@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
def test_a_review_repository_gets_the_evaluation_issue_and_the_summary_says_who_reads_it(harness, sim, private):
    sim.add_repo(REVIEWS, private=private)
    sim.installations[INSTALLATION]["repositories"].append(REVIEWS)
    sim.open_issue(REVIEWS, "An earlier review", "Done.", "pm-alice")  # so the evaluation issue is #2
    number = close_bidding(harness, config=f"review_repository: {REVIEWS}\n", bids={"bob": BIDS["bob"]})

    # The app asked GitHub whether the repository is private (the config does not say).
    assert sim.count_requests("GET", rf"^/repos/{REVIEWS}$") >= 1
    assert bot_issues(sim, REPO) == []
    [issue] = bot_issues(sim, REVIEWS)
    assert issue["labels"] == ["devex:evaluation"]
    assert boxes(issue["body"]) == ["amount: 8000.00\n\nBob's plan: cache the dependencies."]
    assert f"https://github.com/{REPO}/issues/{number}" in issue["body"]
    summary = harness.bot_comments(number)[0]
    assert f"| Evaluation | {issue['html_url']} |" in summary
    if private:
        assert "This repository is private: only those with access to it read them." in issue["body"]
    else:
        assert "This repository is public: anyone may read them." in issue["body"]

    # Before the deadline the summary said where the proposals would go.
    opening = [r for r in sim.requests if r.method == "POST" and r.path == f"/repos/{REPO}/issues/{number}/comments"][0].json["body"]
    if private:
        assert "Proposals go to the evaluators only, in a private repository, when bidding closes." in english(opening)
        assert "Les propositions iront aux évaluateurs seulement, dans un dépôt privé" in french(opening)
        assert "published" not in opening
    else:
        assert "Proposals will be **published** in a public evaluation issue when bidding closes." in english(opening)
        assert "Les propositions seront **publiées** dans un enjeu d'évaluation public" in french(opening)

    # Commands on the evaluation issue in the other repository reach the opportunity.
    comment_on(harness, REVIEWS, issue["number"], "pm-alice", "/score @bob 75")
    [reply] = [c["body"] for c in sim.issue_comments(REVIEWS, issue["number"]) if c["user"].endswith("[bot]")]
    assert "**Score recorded:** 75/100 for the proposal of bob." in reply
    # An issue of the opportunity's repository with the evaluation issue's number is not it.
    unrelated = sim.open_issue(REPO, "Unrelated", "Nothing to see.", "pm-alice")
    assert unrelated["number"] == issue["number"]
    harness.comment(unrelated["number"], "pm-alice", "/score @bob 10")
    assert harness.bot_comments(unrelated["number"]) == []


def test_long_proposals_continue_in_comments_and_still_check_out(harness, sim):
    paragraph = "Step by step, with tests. " * 40 + "\n"
    bids = {
        "bob": ("8,000.00", paragraph * 40),  # about 41,000 characters
        "carol": ("7,500.00", paragraph * 40),
        "dave": ("9,000.00", paragraph * 58),  # about 60,000: shown in two parts
    }
    number = close_bidding(harness, bids=bids)
    [issue] = bot_issues(sim)
    shown = pages(sim, issue)
    assert len(shown) >= 3
    assert all(len(page) <= GITHUB_BODY_LIMIT for page in shown)
    assert "The proposals fill" in shown[0]
    assert "Proposals, continued (page 2 of" in shown[1]
    texts = [box for page in shown for box in boxes(page)]
    assert len(texts) == 4  # bob, carol, and dave in two parts
    expected = receipts(harness, number)
    assert sha256(texts[0]) == expected["bob"] and sha256(texts[1]) == expected["carol"]
    assert sha256(texts[2] + texts[3]) == expected["dave"]
    assert "Part 1 of 2" in "".join(shown) and "Part 2 of 2" in "".join(shown)


def test_cancelling_in_evaluation_closes_the_evaluation_issue(harness, sim):
    number = close_bidding(harness)
    [issue] = bot_issues(sim)
    harness.comment(number, "pm-alice", "/cancel the budget was withdrawn")
    assert "devex:cancelled" in harness.labels(number)
    closed = sim.issue(REPO, issue["number"])
    assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned")
    note = pages(sim, closed)[-1]
    assert "### Evaluation closed" in note and "was cancelled" in english(note) and "a été annulée" in french(note)
