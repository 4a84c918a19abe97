"""Scores, the award recommendation, the award-review issue, approval and rejection.

End to end: signed deliveries built from the real payloads, through POST
/webhooks, the worker and the sender, against the simulated GitHub (team
membership and repository admins included); on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from sqlmodel import Session, select

from bot.cli import main as cli
from storage import procurement as store
from storage.tables import AuditEvent, Award, Milestone, Opportunity, Score
from tests.conftest import REPO
from tests.evaluation_flows import bot_issues, close_bidding, labelled, pages
from tests.flows import english, french, last_reply

# Bids (see tests.evaluation_flows.BIDS): bob 8,000.00, carol 7,500.00, dave 9,000.00.


def scored(harness, number: int, scores: str = "/score @bob 90 strong plan\n/score @carol 70\n/score @dave 60") -> None:
    harness.comment(number, "pm-alice", scores)


def review_issue(sim) -> dict:
    return labelled(sim, "devex:award-review")[-1]


def evaluation_issue(sim) -> dict:
    return labelled(sim, "devex:evaluation")[0]


def test_scores_are_recorded_replaced_with_history_and_the_summary_only_counts_them(harness, sim):
    sim.add_team_member("octo-org", "reviewers", "rev-rita")
    number = close_bidding(harness, config="evaluators: [eval-eve, '@octo-org/reviewers']\n")
    harness.comment(number, "pm-alice", "/score @bob 80 good\n/score @carol 70/100")
    reply = last_reply(harness, number)
    assert reply.startswith("@pm-alice")
    # On the opportunity the reply repeats no score: the evaluation issue holds them.
    assert "**Score recorded** for the proposal of bob; the evaluation issue holds the scores, not this one. 1 of 3 proposals are scored so far" in english(reply)
    assert "80" not in reply
    assert "2 propositions sur 3 sont notées" in french(reply)
    harness.comment(number, "pm-alice", "/score @bob 90 better after a second read")
    assert "(it replaces your earlier score; both are kept)" in last_reply(harness, number)
    harness.comment(number, "eval-eve", "/note @bob 70")
    harness.comment(number, "rev-rita", "/score @carol 60")  # an evaluator through a team

    with Session(harness.engine) as session:
        rows = session.exec(select(Score).order_by(Score.id)).all()
        assert [(s.evaluator, s.score, s.note) for s in rows] == [
            ("pm-alice", 80, "good"),
            ("pm-alice", 70, None),
            ("pm-alice", 90, "better after a second read"),
            ("eval-eve", 70, None),
            ("rev-rita", 60, None),
        ]
    summary = harness.bot_comments(number)[0]
    assert "3 proposals, 2 scored" in english(summary) and "3 propositions, 2 notée" in french(summary)
    for secret in ("80", "90", "70/100", "better after"):
        assert secret not in summary.replace("9,500.00", "").replace("9\u00a0500,00", "")


def test_who_may_score_and_when(harness, sim):
    number = close_bidding(harness, withdraw=("dave",))
    attempts = {
        ("bob", "/score @carol 10"): "You have a proposal on this opportunity: a bidder may not score, recommend or approve",
        ("mallory", "/score @bob 100"): "Only evaluators may score proposals",
        ("pm-alice", "/score @dave 50"): "dave withdrew their proposal before the deadline",
        ("pm-alice", "/score @zed 50"): "zed has no proposal on this opportunity.",
        ("pm-alice", "/score @bob 101"): "the score must be from 0 to 100",
        ("pm-alice", "/score @bob"): "give the score",
        ("pm-alice", "/award"): "name the bidder",
    }
    for (login, command), why in attempts.items():
        harness.comment(number, login, command)
        reply = last_reply(harness, number)
        assert reply.startswith(f"@{login}") and "was not carried out." in reply and why in reply, (command, reply)
        assert "n'a pas été exécutée." in french(reply)
    with Session(harness.engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.kind == "command_refused")).all()
        assert len(refused) == len(attempts)
        assert session.exec(select(Score)).all() == []


def test_scoring_before_the_deadline_is_refused(harness, sim):
    from tests.flows import bid, open_opportunity, register

    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "8,000.00")
    harness.comment(number, "pm-alice", "/score @bob 80")
    assert "once bidding has closed, at the deadline" in last_reply(harness, number)
    harness.comment(number, "pm-alice", "/award @bob")
    assert "once bidding has closed, at the deadline" in last_reply(harness, number)


def test_an_award_below_the_top_needs_a_reason_and_the_review_issue_holds_everything(harness, sim):
    number = close_bidding(harness, withdraw=("dave",))
    evaluation = evaluation_issue(sim)
    harness.comment(evaluation["number"], "pm-alice", "/score @bob 90 strong plan\n/score @carol 70 | cheap <b>but</b> thin @bob")

    # On the opportunity the refusal names no score or rank; on the evaluation issue it does.
    harness.comment(number, "pm-alice", "/award @carol")
    public = last_reply(harness, number)
    assert "carol is not the highest ranked proposal." in public and "`/award @carol REASON`" in public
    assert "90" not in public and "70" not in public and "rank 2" not in public
    harness.comment(evaluation["number"], "pm-alice", "/award @carol")
    refusal = last_reply(harness, evaluation["number"])
    assert "carol is not the highest ranked: bob is, with an average score of 90.00 (carol: 70.00, rank 2)" in refusal
    assert "`/award @carol REASON`" in refusal and "rang 2" in french(refusal)
    assert labelled(sim, "devex:award-review") == []

    harness.comment(number, "pm-alice", "/award @carol lower price, and bob cannot start before March")
    recommended = last_reply(harness, number)
    assert "**Award recommended.** The opportunity is now under review" in recommended
    assert "7,500" not in recommended and "bob" not in recommended
    assert "devex:review" in harness.labels(number) and "devex:evaluation" not in harness.labels(number)
    review = review_issue(sim)
    assert review["title"].startswith("Award review: Speed up the build (#1) · Examen de l'attribution")
    assert sim.count_requests("POST", rf"^/repos/{REPO}/issues$") == 2
    body = "\n".join(pages(sim, review))
    en = english(review["body"])
    # Linked both ways.
    assert f"https://github.com/{REPO}/issues/{number}" in en
    assert f"| Award review | {review['html_url']} |" in harness.bot_comments(number)[0]
    assert f"| Proposals in full | {evaluation['html_url']} |" in en
    # The opportunity: value, tax basis, deadline, criteria, milestones and their share of this award.
    assert "| Value | **$9,500.00** CAD, taxes included |" in en
    assert "| Proposal deadline | 2026-11-20 19:00 UTC (2026-11-20 14:00 EST, America/Toronto) |" in en
    assert "> Approach 60%, price 40%." in en
    assert "| 1 | Design | $4,500.00 | $3,552.63 |" in en and "| 2 | Build | $5,000.00 | $3,947.37 |" in en
    # The recommendation and who made it; the highest ranked beside it, with the reason.
    assert "@pm-alice recommends awarding" in en and "to **carol** for **$7,500.00**" in en
    assert "| Contractor | carol: rank 2 of 2, average score 70.00 |" in en
    assert "| Reason | lower price, and bob cannot start before March |" in en
    assert "| Highest ranked | **bob**, average score 90.00: the recommendation departs from the ranking" in en
    # The conflict checks.
    assert "The contractor carol is not the opportunity's author, an issuer, an evaluator or a contract officer (permission on octo-org/procurement: read)" in en
    assert "Evaluators who scored: pm-alice. None of them has a proposal on this opportunity." in en
    assert "The recommender pm-alice has no proposal on this opportunity." in en
    assert "### Vérification des conflits" in french(review["body"])
    # Every proposal with bidder, amount, submitted at, per-evaluator and average score, hash; withdrawn marked.
    with Session(harness.engine) as session:
        opportunity = store.opportunity_by_issue(session, REPO, number)
        sha = {p.bidder: p.sha256 for p in store.proposals(session, opportunity.id)}
    assert f"| 1 | bob | $8,000.00 · 8\u00a0000,00\u00a0$ | 2026-11-02 15:00 UTC | 90.00 · 90,00 | pm-alice 90 | R-1-1.1-" in body
    assert f"| 2 | carol ★ | $7,500.00 · 7\u00a0500,00\u00a0$ | 2026-11-02 15:00 UTC | 70.00 · 70,00 | pm-alice 70 |" in body
    assert "| — | dave **withdrawn · retirée**" in body
    assert all(digest in body for digest in sha.values())
    # Notes, neutralised; the score's comment linked.
    assert "**70**/100: \\| cheap &#60;b&#62;but&#60;/b&#62; thin @\u200bbob" in body
    assert f"https://github.com/{REPO}/issues/{evaluation['number']}#issuecomment-" in body
    # The event history, with links, up to the recommendation.
    assert "### Event history · Historique des événements" in body
    assert "| bob | proposal recorded · proposition consignée: R-1-1.1-" in body
    assert "| dave | proposal withdrawn · proposition retirée:" in body
    assert "| pm-alice | award recommended · attribution recommandée: carol |" in body
    # No proposal text: the review names the evaluation issue for that.
    assert "Carol's plan" not in body


def test_approval_awards_assigns_announces_debriefs_and_closes_both_issues(harness, sim):
    number = close_bidding(harness)
    scored(harness, number)
    harness.comment(number, "pm-alice", "/award @bob")
    review, evaluation = review_issue(sim), evaluation_issue(sim)

    harness.comment(review["number"], "admin-olga", "/approve")
    reply = last_reply(harness, review["number"])
    assert reply.startswith("@admin-olga") and "**Award approved.** @bob is the contractor, for $8,000.00." in reply

    labels = harness.labels(number)
    assert "devex:awarded" in labels and "devex:review" not in labels
    assert sim.issue(REPO, number)["assignees"] == ["bob"]
    closed = sim.issue(REPO, review["number"])
    assert (closed["state"], closed["state_reason"]) == ("closed", "completed")
    # The reply comes before the review issue closes.
    last_comment = sim.issue_comments(REPO, review["number"])[-1]
    assert closed["timeline"][-1]["seq"] > last_comment["seq"]
    done = sim.issue(REPO, evaluation["number"])
    assert (done["state"], done["state_reason"]) == ("closed", "completed")
    assert "The award to bob for $8,000.00 was approved" in pages(sim, done)[-1]

    [announcement] = [c for c in harness.bot_comments(number) if "### Contract awarded" in c]
    en, fr = english(announcement), french(announcement)
    assert "@bob is awarded this opportunity for **$8,000.00** CAD, taxes included. Approved by @admin-olga" in en
    assert "on the recommendation of @pm-alice" in en
    assert "| 1 | Design | $3,789.47 |" in en and "| 2 | Build | $4,210.53 |" in en
    # Each other bidder is told the decision is made and where their own rank and score
    # are (their desk): no other bidder's amount, score or rank on the public thread.
    [debrief] = [c for c in harness.bot_comments(number) if "### To the other bidders" in c]
    assert "@carol, @dave: thank you for bidding. The decision is made" in english(debrief)
    assert "on your desk" in english(debrief) and "dans votre bureau" in french(debrief)
    for public in (announcement, debrief):
        for hidden in ("ranked", "rang ", "70.00", "70,00", "60.00", "$7,500.00", "$9,000.00", "/100"):
            assert hidden not in public
    assert "plan" not in announcement.lower()
    summary = harness.bot_comments(number)[0]
    assert "| Contractor | @bob, $8,000.00 |" in summary

    with Session(harness.engine) as session:
        opportunity = store.opportunity_by_issue(session, REPO, number)
        assert (opportunity.state, opportunity.contractor, opportunity.contract_value) == ("awarded", "bob", Decimal("8000.00"))
        shares = [m.contract_amount for m in store.milestones(session, opportunity.id)]
        assert shares == [Decimal("3789.47"), Decimal("4210.53")] and sum(shares) == Decimal("8000.00")
        award = session.exec(select(Award)).one()
        assert (award.status, award.decided_by, award.recommended_by) == ("approved", "admin-olga", "pm-alice")

    # Nothing is left to decide.
    harness.comment(review["number"], "admin-olga", "/reject too late")
    assert "This award is approved (by admin-olga, 2026-11-21 15:00 UTC)" in last_reply(harness, review["number"])


def test_only_contract_officers_decide_and_not_the_recommender_while_another_exists(harness, sim):
    number = close_bidding(harness, config="contract_officers: [fin-fay, pm-alice]\n")
    scored(harness, number)
    harness.comment(number, "pm-alice", "/award @bob")
    review = review_issue(sim)["number"]

    for login, why in (
        ("mallory", "Only contract officers may approve or reject an award"),
        ("admin-olga", "Only contract officers may approve or reject an award"),  # an admin, but a list is set
        ("carol", "You have a proposal on this opportunity"),
        ("pm-alice", "You recommended this award: another contract officer must approve it (separation of duties)."),
    ):
        harness.comment(review, login, "/approve")
        assert why in last_reply(harness, review), login
    assert "devex:review" in harness.labels(number)
    assert refused_commands(harness).count("approve") == 4

    harness.comment(review, "fin-fay", "/approuver")
    assert "**Attribution approuvée.**" in last_reply(harness, review)
    assert "devex:awarded" in harness.labels(number)


def refused_commands(harness) -> list[str]:
    """The commands refused so far, from the audit trail."""
    with Session(harness.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.kind == "command_refused")).all()
        return [json.loads(r.detail)["command"] for r in rows]


def test_a_sole_admin_may_approve_their_own_recommendation_but_not_once_another_exists(harness, sim):
    sim.add_user("octo-org", "Organization")  # an organization's repository: its admins are people
    number = close_bidding(harness)
    scored(harness, number)
    harness.comment(number, "admin-olga", "/award @bob")
    review = review_issue(sim)["number"]
    sim.set_permission(REPO, "admin-ada", "admin")
    harness.comment(review, "admin-olga", "/approve")
    assert "another contract officer must approve it" in last_reply(harness, review)
    assert sim.count_requests("GET", rf"^/repos/{REPO}/collaborators$") >= 1

    sim.set_permission(REPO, "admin-ada", "read")
    harness.comment(review, "admin-olga", "/approve")
    refusal = english(last_reply(harness, review))
    assert "you may approve it yourself only with a justification" in refusal
    assert "devex:review" in harness.labels(number)
    harness.comment(review, "admin-olga", "/approve sole contract officer; scores reviewed with the director")
    reply = last_reply(harness, review)
    assert "**Award approved.**" in reply
    assert "**Approved by the person who recommended it** (no other contract officer exists); this is flagged in the awards export. Justification: sole contract officer; scores reviewed with the director" in english(reply)
    assert "**Approuvée par la personne qui l'a recommandée**" in french(reply)


def test_a_self_approval_is_flagged_in_the_awards_export(harness, sim, monkeypatch, capsys, db_url):
    from bot.cli import main

    sim.add_user("octo-org", "Organization")  # its admins are people: admin-olga is the only one
    number = close_bidding(harness)
    scored(harness, number)
    harness.comment(number, "admin-olga", "/award @bob")
    harness.comment(review_issue(sim)["number"], "admin-olga", "/approve sole officer")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["export", "awards", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["self_approved"], row["approval_justification"], row["approved_by"]) == (True, "sole officer", "admin-olga")


def test_contract_officers_by_team_are_asked_of_github(harness, sim):
    sim.add_team_member("octo-org", "procurement-officers", "officer-omar")
    number = close_bidding(harness, config="contract_officers: ['@octo-org/procurement-officers']\n")
    scored(harness, number)
    harness.comment(number, "pm-alice", "/award @bob")
    review = review_issue(sim)["number"]
    harness.comment(review, "admin-olga", "/approve")
    assert "Only contract officers may approve" in last_reply(harness, review)
    harness.comment(review, "officer-omar", "/approve")
    assert "**Award approved.**" in last_reply(harness, review)
    assert sim.count_requests("GET", r"^/orgs/octo-org/teams/procurement-officers/memberships/officer-omar$") >= 1


def test_rejection_returns_to_evaluation_then_a_second_recommendation_is_approved(harness, sim, tmp_path, db_url, monkeypatch):
    number = close_bidding(harness)
    scored(harness, number)
    harness.comment(number, "pm-alice", "/award @dave the only one with on-site staff")
    first = review_issue(sim)

    harness.comment(first["number"], "admin-olga", "/reject")
    assert "Give a reason after the command" in last_reply(harness, first["number"])
    harness.comment(first["number"], "admin-olga", "/reject the reason does not justify a higher price")
    assert "**Award rejected.**" in last_reply(harness, first["number"])
    assert "devex:evaluation" in harness.labels(number) and "devex:review" not in harness.labels(number)
    closed = sim.issue(REPO, first["number"])
    assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned")
    notice = [c for c in harness.bot_comments(number) if "### Recommended award rejected" in c][-1]
    assert "@admin-olga rejected the recommendation of @pm-alice to award this opportunity to dave: the reason does not justify a higher price" in notice
    assert "L'occasion retourne en évaluation" in french(notice)

    harness.comment(number, "pm-alice", "/score @carol 95 revised after the rejection\n/award @carol")
    second = review_issue(sim)
    assert second["number"] != first["number"]
    harness.comment(second["number"], "admin-olga", "/approve")
    assert "devex:awarded" in harness.labels(number)

    # What a contract officer files: the awards (both), the proposals (every version).
    monkeypatch.setenv("DATABASE_URL", db_url)
    out = tmp_path / "awards.csv"
    assert cli(["export", "awards", "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["contractor"], r["status"]) for r in rows] == [("dave", "rejected"), ("carol", "approved")]
    approved = rows[1]
    assert approved["opportunity_url"] == f"https://github.com/{REPO}/issues/{number}"
    assert (approved["title"], approved["value"], approved["tax_basis"], approved["amount"]) == ("Speed up the build", "9500.00", "taxes included", "7500.00")
    assert (approved["recommended_by"], approved["approved_by"], approved["approved_at"]) == ("pm-alice", "admin-olga", "2026-11-21T15:00:00Z")
    assert approved["review_issue_url"] == second["html_url"]
    assert rows[0]["approved_by"] == "" and rows[0]["review_issue_url"] == first["html_url"]

    out = tmp_path / "proposals.json"
    assert cli(["export", "proposals", "--format", "json", "--output", str(out)]) == 0
    proposals = json.loads(out.read_text())
    assert [(p["bidder"], p["version"], p["amount"], p["status"]) for p in proposals] == [
        ("bob", 1, "8000.00", "live"),
        ("carol", 1, "7500.00", "live"),
        ("dave", 1, "9000.00", "live"),
    ]
    assert all(len(p["sha256"]) == 64 and p["opportunity_url"].endswith(f"/issues/{number}") for p in proposals)


def test_cancelling_during_review_closes_the_review_and_the_evaluation(harness, sim):
    number = close_bidding(harness)
    scored(harness, number)
    harness.comment(number, "pm-alice", "/award @bob")
    review, evaluation = review_issue(sim), evaluation_issue(sim)
    harness.comment(number, "pm-alice", "/cancel the project was stopped")
    assert "devex:cancelled" in harness.labels(number)
    for issue in (review, evaluation):
        closed = sim.issue(REPO, issue["number"])
        assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned")
    assert "this award to bob will not be decided" in pages(sim, sim.issue(REPO, review["number"]))[-1]
    with Session(harness.engine) as session:
        assert session.exec(select(Award)).one().status == "cancelled"
