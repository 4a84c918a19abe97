"""An issue becomes an opportunity: the form, the summary, needs-changes, editing, cancelling.

End to end: signed deliveries built from the real payloads, through POST /webhooks,
the worker and the sender, against the simulated GitHub; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from storage.tables import AuditEvent, Opportunity
from tests.conftest import REPO
from tests.flows import bid, english, form_body, french, last_reply, open_opportunity, register


def calls(sim, method: str, pattern: str) -> list:
    import re

    return [r for r in sim.requests if r.method == method and re.search(pattern, r.path)]


def test_a_valid_opportunity_opens_with_one_bilingual_summary(harness, sim):
    number = open_opportunity(harness)

    assert "devex:open" in harness.labels(number)
    comments = harness.bot_comments(number)
    assert len(comments) == 1
    summary = comments[0]
    en, fr = english(summary), french(summary)
    # What is asked, the value and tax basis, the deadline in UTC and local time, milestones, how to bid.
    assert "## Opportunity: Speed up the build" in en
    assert "**$9,500.00** CAD, taxes included" in en
    assert "2026-11-20 19:00 UTC (2026-11-20 14:00 EST, America/Toronto)" in en
    assert "| 1 | Design | $4,500.00 | to do |" in en and "| 2 | Build | $5,000.00 | to do |" in en
    assert "`/register`" in en and "`/bid AMOUNT`" in en
    assert "The build takes 40 minutes." in en
    assert "Proposals will be **published** in a public evaluation issue when bidding closes." in en
    assert "**9\u00a0500,00\u00a0$** CAD, taxes comprises" in fr
    assert "2026-11-20 19 h 00 UTC (2026-11-20 14 h 00 EST, America/Toronto)" in fr
    assert "`/inscription`" in fr and "`/soumission MONTANT`" in fr
    assert summary.index("## Opportunity") < summary.index("## Occasion")
    # Exactly: one label added, one comment created, nothing else written.
    assert len(calls(sim, "POST", r"/issues/\d+/labels$")) == 1
    assert len(calls(sim, "POST", r"/issues/\d+/comments$")) == 1
    assert not calls(sim, "DELETE", r"/labels/")


def test_a_french_form_opens_too(harness, sim):
    number = open_opportunity(harness, value="9 500,00 $", milestones="- Conception : 4 500,00 $\n- Réalisation : 5 000,00 $", french=True)
    assert "devex:open" in harness.labels(number)
    assert "| 1 | Conception | $4,500.00 | to do |" in harness.bot_comments(number)[0]


def test_an_invalid_form_lists_every_problem_then_opens_once_fixed(harness, sim):
    body = form_body(value="12,000.00", deadline="2026-10-01", acceptance=None, milestones="- Design: 4,500.00\n- Build 5000")
    issue = sim.open_issue(REPO, "Broken form", body, "pm-alice")
    number = issue["number"]
    harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    harness.run()

    assert "devex:needs-changes" in harness.labels(number)
    assert "devex:open" not in harness.labels(number)
    [problems] = harness.bot_comments(number)
    en = english(problems)
    assert "@pm-alice" in en
    assert "$12,000.00 is over the cap of $9,999.00" in en
    assert "2026-10-01" in en and "has already passed" in en
    assert "**Acceptance criteria** is empty" in en
    assert "`- Build 5000` should read `- NAME: AMOUNT`" in en.replace("\\", "")
    assert "dépasse le plafond de 9\u00a0999,00\u00a0$" in french(problems)

    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", form_body()))
    harness.run()

    assert "devex:open" in harness.labels(number)
    assert "devex:needs-changes" not in harness.labels(number)
    comments = harness.bot_comments(number)
    assert len(comments) == 2  # the problems comment (now edited) and the summary
    assert "Problems fixed" in comments[0]
    assert "## Opportunity: Broken form" in comments[1]


def test_a_repository_cap_and_time_zone_apply(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "value_cap: 5000.00\ntimezone: America/Vancouver\ndeadline_time: '17:00'\n"
    number = open_opportunity(harness, milestones=None)
    assert "devex:needs-changes" in harness.labels(number)
    assert "over the cap of $5,000.00" in harness.bot_comments(number)[0]

    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", form_body(value="4,000.00", milestones=None)))
    harness.run()
    summary = harness.bot_comments(number)[-1]
    assert "2026-11-21 01:00 UTC (2026-11-20 17:00 PST, America/Vancouver)" in summary
    assert "| 1 | Complete | $4,000.00 | to do |" in summary


def test_an_invalid_configuration_is_reported_and_defaults_are_not_used(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "value_cap: lots\nbidding: secret\n"
    issue = sim.open_issue(REPO, "Work", form_body(), "pm-alice")
    harness.act(sim.human_label(REPO, issue["number"], "pm-alice", "opportunity"))
    harness.run()
    [message] = harness.bot_comments(issue["number"])
    assert "`.github/devex.yml`" in message
    # The key as written (a backslash in a code span would show on GitHub), and the problem in words.
    assert "`value_cap` is not an amount in CAD" in message and "`bidding` must be `sealed` or `open`" in message
    assert "devex:open" not in harness.labels(issue["number"])
    with Session(harness.engine) as session:
        assert session.exec(select(Opportunity)).all() == []


def test_deliveries_for_the_bots_own_actions_are_dropped_at_intake(harness, sim):
    open_opportunity(harness)
    from storage.tables import Delivery

    with Session(harness.engine) as session:
        events = [(d.event, d.action) for d in session.exec(select(Delivery)).all()]
    # GitHub sent labeled + comment webhooks for the bot's own writes; none was stored.
    assert events == [("issues", "labeled")]


def test_editing_the_terms_while_proposals_exist_is_refused(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")

    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", form_body(value="8,000.00", milestones="- All: 8,000.00")))
    harness.run()

    reply = last_reply(harness, number)
    assert "Change refused" in reply and "1 proposal exists" in reply
    assert "`/extend YYYY-MM-DD`" in reply
    with Session(harness.engine) as session:
        assert session.exec(select(Opportunity)).one().value == pytest.approx(9500)
    assert "**$9,500.00** CAD" in harness.bot_comments(number)[0]


def test_editing_the_problem_text_while_open_updates_the_summary(harness, sim):
    number = open_opportunity(harness)
    harness.act(sim.human_edit_issue(REPO, number, "pm-alice", form_body(problem="The build takes an hour.")))
    harness.run()
    [summary] = harness.bot_comments(number)
    assert "The build takes an hour." in summary


def test_removing_the_label_cancels_and_tells_the_bidders(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob", "carol")
    bid(harness, number, "bob", "9000")
    bid(harness, number, "carol", "8000")

    harness.act(sim.human_unlabel(REPO, number, "pm-alice", "opportunity"))
    harness.run()

    assert "devex:cancelled" in harness.labels(number)
    assert "devex:open" not in harness.labels(number)
    notice = [c for c in harness.bot_comments(number) if "### Opportunity cancelled" in c][-1]
    assert "@bob" in notice and "@carol" in notice and "@pm-alice" in notice


def test_closing_the_issue_before_an_award_cancels(harness, sim):
    number = open_opportunity(harness)
    harness.act(sim.human_close_issue(REPO, number, "pm-alice"))
    harness.run()
    assert "devex:cancelled" in harness.labels(number)
    harness.comment(number, "bob", "/register\n/bid 100")
    assert "This opportunity was cancelled" in last_reply(harness, number)


def test_cancel_reason_from_a_user_cannot_mention_or_break_markdown(harness, sim):
    number = open_opportunity(harness)
    nasty = "@someone @org/team `code` <details><summary>x</summary> <img src=x onerror=alert(1)> **bold**"
    harness.comment(number, "pm-alice", f"/cancel {nasty}")
    notice = [c for c in harness.bot_comments(number) if "### Opportunity cancelled" in c][-1]
    assert "@someone" not in notice and "@org/team" not in notice
    assert "@\u200bsomeone" in notice and "@\u200borg/team" in notice
    assert "<details>" not in notice and "<img" not in notice
    assert "&#96;code&#96;" in notice and "\\*\\*bold\\*\\*" in notice


def test_every_state_change_and_command_is_audited_and_the_trail_is_append_only(harness, sim):
    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")
    harness.comment(number, "bob", "/withdraw")
    harness.comment(number, "mallory", "/cancel because")

    with Session(harness.engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
        kinds = [e.kind for e in events]
        assert kinds[:2] == ["opportunity_labelled", "state_changed"]
        for kind in ("registered", "bid_recorded", "bid_withdrawn", "command_refused"):
            assert kind in kinds
        refused = [e for e in events if e.kind == "command_refused"][0]
        assert refused.actor == "mallory" and refused.delivery_id and refused.url
        assert all(e.delivery_id for e in events)

    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(sa.exc.DBAPIError):
            with harness.engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_an_issue_opened_from_the_form_opens_once(harness, sim):
    # GitHub sends `issues.opened` (with the form's label) and then `issues.labeled`.
    opened = sim.human_open_issue(REPO, "From the form", form_body(), "pm-alice", labels=["opportunity"])
    number = opened[1]["issue"]["number"]
    harness.act(opened)
    harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    harness.run()
    assert len(harness.bot_comments(number)) == 1
    assert "devex:open" in harness.labels(number)
    with Session(harness.engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert kinds.count("state_changed") == 1 and "opportunity_edited" not in kinds


def test_only_an_issuer_publishes_an_opportunity(harness, sim):
    # Anyone may open an issue from the form (which adds the label by itself).
    opened = sim.human_open_issue(REPO, "Please pay me", form_body(), "visitor-vic", labels=["opportunity"])
    number = opened[1]["issue"]["number"]
    harness.act(opened)
    harness.act(sim.human_label(REPO, number, "visitor-vic", "opportunity"))
    harness.run()
    [refusal] = harness.bot_comments(number)
    assert refusal.startswith("<!--") or "@visitor-vic" in refusal
    assert "only an issuer publishes an opportunity" in refusal and "seul un émetteur publie" in refusal
    assert not [l for l in harness.labels(number) if l.startswith("devex:")]
    with Session(harness.engine) as session:
        assert session.exec(select(Opportunity)).all() == []
    # An issuer's label publishes it.
    harness.act(sim.human_unlabel(REPO, number, "pm-alice", "opportunity"))
    harness.act(sim.human_label(REPO, number, "pm-alice", "opportunity"))
    harness.run()
    assert "devex:open" in harness.labels(number)
