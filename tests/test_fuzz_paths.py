"""Fuzzing the whole paths (issue 6.2): comment bodies through issue_comment, issue bodies
through the opportunity form. Whatever the text, the delivery is accepted (never a 500),
handled to the end (`done`, never `failed`), and a command or a form gets a reply."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.spine import deliveries, open_opportunity, sqlite_only, writes

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

COMMANDS = ["/bid", "/BID", "/soumission", "/register", "/inscription", "/withdraw", "/retirer", "/status",
            "/statut", "/help", "/aide", "/extend", "/prolonger", "/cancel", "/annuler", "/score", "/award",
            "/approve", "/paid", "/terminate", "/frobnicate", "/"]
AMOUNTS = ["9,500.00", "$9500", "9 500,00 $", "0", "-5", "1e9", "9999999999999999999999", "NaN", "1,2,3", "€100",
           "9\u00a0500,00\u00a0$", "٣٤٥", "0.001", "$", "1_000", "10000.00"]
DATES = ["2026-12-31", "2026-02-30", "2026-12-31T14:00:00-05:00", "2026-12-31T14:00:00", "demain", "9999-12-31",
         "0001-01-01", "2026-13-01"]

words = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
command_line = st.builds(
    lambda name, arg, rest: " ".join(x for x in (name, arg, rest) if x),
    st.sampled_from(COMMANDS),
    st.one_of(st.sampled_from(AMOUNTS + DATES), st.just("@bidder-carol"), st.just("@org/team"), words),
    words,
)
decoration = st.sampled_from(["", "> ", "```\n", "    ", "<!-- ", "**", "\u200b", "\r\n"])
line = st.one_of(command_line, words, st.builds(lambda d, c: d + c, decoration, command_line))
comment_body = st.builds(lambda lines: "\n".join(lines), st.lists(line, min_size=1, max_size=6)).map(
    lambda body: body if "/" in body else "/" + body
)


def assert_all_handled(harness) -> None:
    rows = deliveries(harness.engine)
    bad = [(r["event"], r["status"], r["last_error"]) for r in rows if r["status"] not in ("done", "ignored")]
    assert bad == []
    assert [w for w in writes(harness.engine) if w["status"] != "sent"] == []


@sqlite_only
@FUZZ
@given(body=comment_body, login=st.sampled_from(["bidder-bob", "bidder-carol", "new-person"]))
@example(body="/bid 9000\nA plan with a NUL \x00 in it", login="bidder-bob")
def test_any_comment_on_an_opportunity_is_handled_never_a_500(harness, sim, body, login):
    if not sim.issues[REPO]:
        number = open_opportunity(harness)
        harness.comment(number, "bidder-bob", "/register")
    event, data = sim.human_comment(REPO, 1, login, body)
    response = harness.act((event, data))
    assert response.status_code in (200, 202), response.text
    harness.run()
    assert_all_handled(harness)


@sqlite_only
@FUZZ
@given(body=st.text(max_size=300).map(lambda t: t if "/" in t else "/" + t))
def test_any_text_at_all_as_a_comment(harness, sim, body):
    if not sim.issues[REPO]:
        open_opportunity(harness)
    response = harness.act(sim.human_comment(REPO, 1, "bidder-bob", body))
    assert response.status_code in (200, 202)
    harness.run()
    assert_all_handled(harness)


HEADINGS = ["Value", "Valeur", "VALUE", "Proposal deadline", "Date limite", "Problem", "Problème", "Acceptance criteria",
            "Critères d'acceptation", "Milestones", "Jalons", "Evaluation criteria", "Skills", "Compétences", "Unknown"]
section_value = st.one_of(
    st.sampled_from(AMOUNTS + DATES + ["_No response_", "", "- Design: 4,000.00\n- Build: 5,500.00", "- : \n- x"]),
    words,
)
section = st.builds(lambda h, v, hashes: f"{hashes} {h}\n\n{v}", st.sampled_from(HEADINGS), section_value,
                    st.sampled_from(["###", "##", "####", "###", "###"]))
issue_body = st.one_of(
    st.builds(lambda sections: "\n\n".join(sections), st.lists(section, max_size=9)),
    st.text(max_size=400),
)


@sqlite_only
@FUZZ
@given(body=issue_body, title=words)
def test_any_issue_body_through_the_form_is_handled_and_answered(harness, sim, body, title):
    event, data = sim.human_open_issue(REPO, title or "untitled", body, "pm-alice", labels=["opportunity"])
    number = data["issue"]["number"]
    response = harness.act((event, data))
    assert response.status_code in (200, 202), response.text
    harness.run()
    assert_all_handled(harness)
    labels = harness.labels(number)
    # Opened, or told what to fix: never silence.
    assert "devex:open" in labels or "devex:needs-changes" in labels, labels
    assert harness.bot_comments(number)


@sqlite_only
@FUZZ
@given(body=issue_body)
def test_any_edit_of_an_open_opportunity_is_handled(harness, sim, body):
    if not sim.issues[REPO]:
        open_opportunity(harness)
        harness.comment(1, "bidder-bob", "/register")
        harness.comment(1, "bidder-bob", "/bid 9000\nPlan")
    response = harness.act(sim.human_edit_issue(REPO, 1, "pm-alice", body))
    assert response.status_code in (200, 202)
    harness.run()
    assert_all_handled(harness)


def test_a_nul_character_is_no_problem_on_either_database(harness, sim):
    """PostgreSQL text cannot hold NUL: a title or a proposal carrying one (JSON `\\u0000`)
    must neither fail its delivery for ever nor leave a sealed bid readable."""
    number = open_opportunity(harness, title="Speed up \x00 the build")
    harness.comment(number, "bidder-bob", "/register")
    harness.comment(number, "bidder-bob", "/bid 9000\nPlan \x00 with a NUL")
    assert_all_handled(harness)
    assert any("Proposal received" in b for b in harness.bot_comments(number))
    assert not any(c["body"].startswith("/bid") for c in sim.issue_comments(REPO, number))
