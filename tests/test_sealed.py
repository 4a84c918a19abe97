"""Sealed bidding that does what it says (PRODUCT.md "Comment commands").

End to end through signed webhooks built from the real payloads, on SQLite and
PostgreSQL, asserting on the GitHub calls the bot makes.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.tables import Proposal, ProposalVersion
from tests.conftest import REPO
from tests.flows import bid, english, french, last_reply, open_opportunity, register


def versions(harness) -> list[ProposalVersion]:
    with Session(harness.engine) as session:
        return list(session.exec(select(ProposalVersion).order_by(ProposalVersion.id)).all())


def writes_since(sim, start: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sim.requests[start:] if r.method != "GET" and not r.path.startswith("/app/")]


def test_the_deletion_of_a_sealed_bid_goes_before_every_other_pending_write(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    for login in ("dev-a", "dev-b", "dev-c", "dev-d"):
        harness.act(sim.human_comment(REPO, number, login, "/register"))
    event, data = sim.human_comment(REPO, number, "dev-bob", "/bid 9,000.00\nMy approach.")
    harness.act((event, data))
    harness.runtime.worker.drain()  # five deliveries handled, their writes queued in order
    start = len(sim.requests)
    harness.run()
    writes = writes_since(sim, start)
    assert writes[0] == ("DELETE", f"/repos/{REPO}/issues/comments/{data['comment']['id']}")
    assert len([w for w in writes if w[0] == "POST"]) >= 5  # the replies came after


@pytest.mark.parametrize("body", ["/bids 3,900.00", "/bid3900", "    /bid 3,900.00", "/ bid 3,900.00", "/soumision 3 900,00"])
def test_a_near_miss_bid_is_removed_and_answered_without_repeating_it(harness, sim, body):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    event, data = sim.human_comment(REPO, number, "dev-bob", f"{body}\nMy secret approach.")
    start = len(sim.requests)
    harness.act((event, data))
    harness.run()
    writes = writes_since(sim, start)
    assert writes[0] == ("DELETE", f"/repos/{REPO}/issues/comments/{data['comment']['id']}")
    assert ("POST", f"/repos/{REPO}/issues/{number}/comments") in writes
    reply = last_reply(harness, number)
    assert "@dev-bob, your comment looks like a bid, but the bot could not read it as one" in english(reply)
    assert "votre commentaire ressemble à une soumission" in french(reply)
    assert "3,900" not in reply and "3900" not in reply and "3 900" not in reply and "secret" not in reply
    assert versions(harness) == []
    assert data["comment"]["id"] not in sim.comments


def test_an_edit_of_a_recorded_bid_is_answered_and_changes_nothing(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    event, data = sim.human_comment(REPO, number, "dev-bob", "/bid 90,00\nMy approach.")
    harness.act((event, data))
    harness.runtime.worker.drain()  # recorded; its removal not sent yet
    harness.act(sim.human_edit_comment(data["comment"]["id"], "dev-bob", "/bid 9,000.00\nMy approach."))
    harness.run()
    [version] = versions(harness)
    assert str(version.amount) == "90.00"
    reply = last_reply(harness, number)
    assert f"@dev-bob, you edited a comment that held a `/bid`: the edit changes nothing." in english(reply)
    assert version.receipt_number in english(reply)
    assert "To change your proposal, bid again in a new comment" in english(reply)
    assert "9,000" not in reply


def test_the_proposal_is_the_whole_comment_without_the_bid_line(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    harness.comment(number, "dev-bob", "Hello team,\nhere is my plan.\n/bid 9,000.00\nCache the dependencies.")
    [version] = versions(harness)
    assert version.text == "Hello team,\nhere is my plan.\nCache the dependencies."


@pytest.mark.parametrize("words", ["+ HST", "plus taxes", "+ TPS", "HT", "before tax"])
def test_an_amount_before_tax_is_refused_while_amounts_include_tax(harness, sim, words):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    harness.comment(number, "dev-bob", f"/bid 4,000.00 {words}\nMy approach.")
    assert versions(harness) == []
    reply = english(last_reply(harness, number))
    assert "**`/bid` was not carried out.**" in reply
    assert "amounts on this opportunity include tax: bid the total including tax (GST/HST)" in reply
    assert "4,000" not in reply


def test_an_amount_before_tax_is_taken_when_amounts_do_not_include_tax(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "amounts_include_tax: false\n"
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    harness.comment(number, "dev-bob", "/bid 4,000.00 + HST\nMy approach.")
    [version] = versions(harness)
    assert str(version.amount) == "4000.00"


def test_the_summary_and_every_receipt_say_a_comment_is_not_confidential_and_point_to_the_desk(harness, sim, monkeypatch):
    monkeypatch.setenv("DEVEX_PUBLIC_URL", "https://devex.example.gc.ca/")
    number = open_opportunity(harness)
    summary = harness.bot_comments(number)[0]
    assert "**A comment is not confidential:** GitHub emails every new comment to the issue's watchers before the bot can remove it. To bid confidentially, use your desk: https://devex.example.gc.ca/en/desk." in english(summary)
    assert "https://devex.example.gc.ca/fr/desk" in french(summary)
    register(harness, number, "dev-bob")
    bid(harness, number, "dev-bob", "9,000.00")
    receipt = last_reply(harness, number)
    assert "**Proposal received.**" in english(receipt)
    assert "use your desk: https://devex.example.gc.ca/en/desk" in english(receipt)
    assert "**Un commentaire n'est pas confidentiel :**" in french(receipt)
    with Session(harness.engine) as session:
        assert len(session.exec(select(Proposal)).all()) == 1
