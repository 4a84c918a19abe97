"""Debriefs move to the desk: after approval each bidder not chosen is told on the
opportunity that the decision is made and that their own rank, score and notes
are on their desk (with the link); the desk shows each person their own and no
one else's; before approval it shows none. SQLite and PostgreSQL."""

from __future__ import annotations

import html

from tests.desk_flows import Browser, desk  # noqa: F401
from tests.evaluation_flows import close_bidding, labelled
from tests.flows import english, french

SCORES = "/score @bob 90 strong plan\n/score @carol 70 good tests, slow plan\n/score @dave 60 too costly"


def desk_of(harness, login: str, lang: str = "en") -> str:
    browser = Browser(harness)
    browser.sign_in(login)
    return html.unescape(browser.desk(lang).text)


def test_each_bidder_reads_their_own_rank_score_and_notes_on_their_desk_after_approval(desk, sim):
    number = close_bidding(desk)
    desk.comment(number, "pm-alice", SCORES)
    desk.comment(number, "pm-alice", "/award @bob")
    before = desk_of(desk, "carol")
    assert "Result" not in before and "good tests" not in before  # no score before the award is approved
    review = labelled(sim, "devex:award-review")[-1]
    desk.comment(review["number"], "admin-olga", "/approve")

    [debrief] = [c for c in desk.bot_comments(number) if "### To the other bidders" in c]
    assert "https://desk.test/en/desk" in english(debrief) and "https://desk.test/fr/desk" in french(debrief)
    assert "@carol, @dave" in english(debrief)

    carol = desk_of(desk, "carol")
    assert "Your proposal ranked 2 of 3." in carol and "Average score: 70.00/100." in carol
    assert "good tests, slow plan" in carol
    for theirs in ("strong plan", "too costly", "ranked 1 of", "ranked 3 of", "90/100", "60/100", "Bob's plan", "Dave's plan"):
        assert theirs not in carol
    dave = desk_of(desk, "dave", "fr")
    assert "Votre proposition s'est classée au rang 3 sur 3." in dave and "Note moyenne : 60,00/100." in dave and "too costly" in dave
    assert "good tests" not in dave and "strong plan" not in dave
    bob = desk_of(desk, "bob")
    assert "You were awarded this contract." in bob and "strong plan" in bob and "good tests" not in bob
