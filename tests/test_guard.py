"""Only issuers end a procurement; an opportunity belongs to its repository (PRODUCT.md "Lifecycle").

End to end through signed webhooks built from the real payloads, on SQLite and
PostgreSQL, asserting on the GitHub calls the bot makes.
"""

from __future__ import annotations

from sqlmodel import Session, select

from storage import procurement as store
from storage.tables import Opportunity
from tests.conftest import INSTALLATION, REPO, payload
from tests.flows import bid, english, form_body, french, open_opportunity, register

OUTSIDER = "out-oscar"
TRIAGER = "tri-tess"


def opportunity(harness, number: int, repository: str = REPO) -> Opportunity:
    with Session(harness.engine) as session:
        return store.opportunity_by_issue(session, repository, number)


def writes_since(sim, start: int) -> list[tuple[str, str, object]]:
    return [(r.method, r.path, r.json) for r in sim.requests[start:] if r.method != "GET" and not r.path.startswith("/app/")]


def test_a_close_by_its_non_issuer_author_is_undone_and_said(harness, sim):
    # Anyone may open the form; an issuer publishes it by labelling it.
    issue = sim.open_issue(REPO, "Speed up the build", form_body(), OUTSIDER)
    harness.act(sim.human_label(REPO, issue["number"], "pm-alice", "opportunity"))
    harness.run()
    number = issue["number"]
    assert opportunity(harness, number).state == "open"

    start = len(sim.requests)
    harness.act(sim.human_close_issue(REPO, number, OUTSIDER))
    harness.run()
    writes = writes_since(sim, start)
    assert writes[0] == ("PATCH", f"/repos/{REPO}/issues/{number}", {"state": "open"})
    assert writes[1][:2] == ("POST", f"/repos/{REPO}/issues/{number}/comments")
    assert len(writes) == 2
    said = writes[1][2]["body"]
    assert "### This opportunity is still open: the issue was reopened" in english(said)
    assert "@out-oscar closed this issue, but only an issuer ends a procurement, with `/cancel REASON`." in english(said)
    assert "### Cette occasion est toujours en cours" in french(said)
    assert sim.issue(REPO, number)["state"] == "open"
    assert opportunity(harness, number).state == "open"


def test_a_merged_pull_requests_closing_keyword_does_not_end_it_even_when_an_issuer_merges(harness, sim):
    number = open_opportunity(harness)
    harness.act(sim.human_open_pull_request(REPO, "Typo", f"Fixes #{number} (typo in README)", OUTSIDER))
    harness.run()
    pr = max(sim.issues[REPO])
    harness.act(sim.human_merge_pull_request(REPO, pr, "pm-alice"))
    start = len(sim.requests)
    harness.act(sim.close_by_pull_request(REPO, number, pr))
    harness.run()
    assert ("GET", f"/repos/{REPO}/issues/{number}/events") in [(r.method, r.path) for r in sim.requests[start:]]
    writes = writes_since(sim, start)
    assert ("PATCH", f"/repos/{REPO}/issues/{number}", {"state": "open"}) in writes
    [said] = [w[2]["body"] for w in writes if w[1].endswith(f"/issues/{number}/comments")]
    assert "A merged pull request's closing keyword (`Fixes #N`, `Closes #N`) closed this issue" in english(said)
    assert "write a line `Opportunity: #N`" in english(said)
    assert opportunity(harness, number).state == "open"
    assert sim.issue(REPO, number)["state"] == "open"


def test_an_issuer_closing_it_cancels_as_before(harness, sim):
    number = open_opportunity(harness)
    harness.act(sim.human_close_issue(REPO, number, "pm-alice"))
    harness.run()
    assert opportunity(harness, number).state == "cancelled"
    assert "devex:cancelled" in harness.labels(number)


def test_a_label_removed_by_a_non_issuer_is_put_back_and_by_an_issuer_cancels(harness, sim):
    sim.set_permission(REPO, TRIAGER, "triage")
    number = open_opportunity(harness)
    harness.comment(number, TRIAGER, "/cancel I think it is done")
    assert opportunity(harness, number).state == "open"  # refused: not an issuer

    start = len(sim.requests)
    harness.act(sim.human_unlabel(REPO, number, TRIAGER, "opportunity"))
    harness.run()
    writes = writes_since(sim, start)
    assert writes[0] == ("POST", f"/repos/{REPO}/issues/{number}/labels", {"labels": ["opportunity"]})
    assert "### The label `opportunity` was put back" in english(writes[1][2]["body"])
    assert "@tri-tess removed it, but only an issuer ends a procurement" in english(writes[1][2]["body"])
    assert "opportunity" in harness.labels(number)
    assert opportunity(harness, number).state == "open"

    harness.act(sim.human_unlabel(REPO, number, "pm-alice", "opportunity"))
    harness.run()
    assert opportunity(harness, number).state == "cancelled"


def test_a_deleted_opportunity_is_cancelled_and_never_published(harness, sim, clock):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    bid(harness, number, "dev-bob", "9,000.00", "My secret approach.")
    start = len(sim.requests)
    harness.act(sim.human_delete_issue(REPO, number, "admin-olga"))
    harness.run()
    assert opportunity(harness, number).state == "cancelled"
    assert writes_since(sim, start) == []  # nothing is written to an issue that is gone

    clock.advance(days=30)  # well past the deadline
    harness.run()
    harness.run()
    writes = writes_since(sim, start)
    assert not any(method == "POST" and path == f"/repos/{REPO}/issues" for method, path, _ in writes)  # no evaluation issue
    assert not any("My secret approach." in str(body) for _, _, body in writes)


def test_a_transferred_issue_takes_its_opportunity_and_proposals_along(harness, sim, clock):
    other = "octo-org/procurement-2027"
    sim.add_repo(other)
    sim.installations[INSTALLATION]["repositories"].append(other)
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")
    bid(harness, number, "dev-bob", "9,000.00")
    for event, data in sim.human_transfer_issue(REPO, number, other, "admin-olga"):
        harness.deliver(event, data)
    harness.run()
    moved_number = max(sim.issues[other])
    assert opportunity(harness, number) is None
    moved = opportunity(harness, moved_number, other)
    assert (moved.state, moved.repository) == ("open", other)
    note = [c["body"] for c in sim.issue_comments(other, moved_number) if "moved here with its issue" in c["body"]]
    assert len(note) == 1 and f"It was {REPO}#{number}. Its state, deadline and 1 proposal are kept" in english(note[0])

    clock.advance(days=30)
    harness.run()
    assert opportunity(harness, moved_number, other).state == "evaluation"


def test_a_transfer_to_a_repository_without_the_app_cancels(harness, sim):
    elsewhere = "someone-else/archive"
    sim.add_repo(elsewhere)
    number = open_opportunity(harness)
    for event, data in sim.human_transfer_issue(REPO, number, elsewhere, "admin-olga"):
        if data["repository"]["full_name"] == REPO:
            harness.deliver(event, data)  # the other repository's installation does not exist
    harness.run()
    assert opportunity(harness, number).state == "cancelled"


def test_a_reinstall_loses_nothing_and_the_deadline_still_closes(harness, sim, clock):
    number = open_opportunity(harness)
    register(harness, number, "dev-bob")

    deleted = payload("installation", "deleted")
    deleted["installation"] = dict(deleted["installation"], id=INSTALLATION)
    harness.deliver("installation", deleted)
    del sim.installations[INSTALLATION]
    harness.run()

    sim.add_installation(88, "octo-org", [REPO])
    created = payload("installation", "created")
    created["installation"] = dict(created["installation"], id=88)
    created["repositories"] = [{"id": 1, "name": "procurement", "full_name": REPO, "private": False}]
    harness.deliver("installation", created)
    harness.run()
    assert opportunity(harness, number).installation_id == 88

    event, data = sim.human_comment(REPO, number, "dev-bob", "/bid 9,000.00\nMy approach.")
    data["installation"] = {"id": 88}
    harness.deliver(event, data)
    harness.run()
    assert any("receipt" in english(c).lower() for c in harness.bot_comments(number))

    clock.advance(days=30)
    harness.run()
    assert opportunity(harness, number).state == "evaluation"
    with Session(harness.engine) as session:
        assert session.exec(select(Opportunity).where(Opportunity.installation_id == INSTALLATION)).first() is None
