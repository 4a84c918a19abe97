"""Scores stay where they belong (PRODUCT.md "Scores and ranking").

With the evaluation issue in another repository, /score and /award are taken
there only: on the opportunity they are removed and answered with where to
go, without repeating them. End to end on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlmodel import Session, select

from storage.tables import Score
from tests.conftest import INSTALLATION, REPO
from tests.evaluation_flows import BIDS, bot_issues, close_bidding
from tests.flows import english, french, last_reply

REVIEWS = "octo-org/evaluations"


def test_score_and_award_on_the_opportunity_are_removed_and_pointed_to_the_evaluation_issue(harness, sim):
    sim.add_repo(REVIEWS, private=True)
    sim.installations[INSTALLATION]["repositories"].append(REVIEWS)
    sim.set_permission(REVIEWS, "pm-alice", "write")
    number = close_bidding(harness, config=f"review_repository: {REVIEWS}\n", bids={"bob": BIDS["bob"]})
    [evaluation] = bot_issues(sim, REVIEWS)

    event, data = sim.human_comment(REPO, number, "pm-alice", "/score @bob 35 Weak security answer\n/award @bob")
    start = len(sim.requests)
    harness.act((event, data))
    harness.run()
    writes = [(r.method, r.path) for r in sim.requests[start:] if r.method != "GET" and not r.path.startswith("/app/")]
    assert writes[0] == ("DELETE", f"/repos/{REPO}/issues/comments/{data['comment']['id']}")
    assert ("POST", f"/repos/{REPO}/issues/{number}/comments") in writes
    reply = last_reply(harness, number)
    assert f"Scores and award recommendations for this opportunity are taken on its evaluation issue, in `{REVIEWS}`: {evaluation['html_url']}" in english(reply)
    assert "sont reçues dans son enjeu d'évaluation" in french(reply)
    assert "35" not in reply and "Weak" not in reply
    assert "Your comment was removed from this issue" in english(reply)
    with Session(harness.engine) as session:
        assert session.exec(select(Score)).all() == []
    assert not [i for i in bot_issues(sim, REVIEWS) if "devex:award-review" in i["labels"]]

    # On the evaluation issue it is taken.
    harness.act(sim.human_comment(REVIEWS, evaluation["number"], "pm-alice", "/score @bob 35 Weak security answer"))
    harness.run()
    with Session(harness.engine) as session:
        assert [s.score for s in session.exec(select(Score)).all()] == [35]
