"""Acceptance: a merge pays only when the work was accepted by someone other than
the contractor and passed the repository's checks (PRODUCT.md "Acceptance").

End to end: signed deliveries built from the real payloads through POST
/webhooks, the worker and the sender, against the simulated GitHub serving
reviews, check runs and commit statuses; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml
from sqlmodel import Session, select

from storage.tables import AuditEvent, Payment
from tests.conftest import INSTALLATION, REPO
from tests.flows import english, french, last_reply
from tests.test_pay_on_pull import CONTRACTOR, MAINTAINER, OFFICER, awarded_opportunity, bot_comment, open_pull_request

REVIEWER = "rev-rita"  # a second writer of the repository


def payments(harness) -> list[Payment]:
    with Session(harness.engine) as session:
        return list(session.exec(select(Payment).order_by(Payment.id)).all())


def audit(harness, kind: str) -> list[dict]:
    with Session(harness.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all()
        return [dict(json.loads(r.detail), actor=r.actor) for r in rows]


def writes_since(sim, start: int) -> list[tuple[str, str]]:
    """The GitHub writes (not reads) the bot made since request `start`."""
    return [(r.method, r.path) for r in sim.requests[start:] if r.method != "GET" and not r.path.startswith("/app/")]


def kept(harness, pr: int) -> str:
    """The one comment the bot keeps on a pull request (replies to commands are others)."""
    [body] = [b for b in harness.bot_comments(pr) if "devex-bot:pull-request:" in b]
    return body


def merge(harness, number: int, by: str = MAINTAINER) -> None:
    harness.act(harness.sim.human_merge_pull_request(REPO, number, by))
    harness.run()


def test_a_reviewed_merge_by_a_maintainer_pays_and_the_comment_follows_the_reviews(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    opened = english(bot_comment(harness, pr))
    assert "It still needs:" in opened
    assert "- 1 approving review from people with write access who are not the contractor (0 so far" in opened
    assert "- merged by someone other than the contractor" in opened
    assert "Il lui faut encore :" in french(bot_comment(harness, pr))

    # The contractor's own approval and a reader's do not count.
    sim.set_permission(REPO, "reader-rex", "read")
    harness.act(sim.human_review(REPO, pr, CONTRACTOR, "APPROVED"))
    harness.act(sim.human_review(REPO, pr, "reader-rex", "APPROVED"))
    harness.run()
    assert "(0 so far" in english(bot_comment(harness, pr))

    start = len(sim.requests)
    harness.act(sim.human_review(REPO, pr, MAINTAINER, "APPROVED"))
    harness.run()
    reads = [(r.method, r.path) for r in sim.requests[start:] if r.method == "GET"]
    assert ("GET", f"/repos/{REPO}/pulls/{pr}/reviews") in reads
    head = sim.head_sha(REPO, pr)
    assert ("GET", f"/repos/{REPO}/commits/{head}/check-runs") in reads
    assert ("GET", f"/repos/{REPO}/commits/{head}/status") in reads
    link_comment = [c for c in harness.thread(pr) if c["user"] != CONTRACTOR][-1]
    assert writes_since(sim, start) == [("PATCH", f"/repos/{REPO}/issues/comments/{link_comment['id']}")]
    assert "It passes acceptance now; it must still be merged by someone other than the contractor." in english(bot_comment(harness, pr))

    merge(harness, pr)
    [payment] = payments(harness)
    assert (payment.status, str(payment.amount), payment.merged_by) == ("payable", "4263.16", MAINTAINER)
    assert "### Milestone 1 accepted: payment #1 recorded" in english(bot_comment(harness, pr))


def test_the_contractor_merging_their_own_work_is_not_paid_until_a_contract_officer_accepts_it(harness, sim, monkeypatch, capsys, db_url):
    from bot.cli import main

    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.add_review(REPO, pr, MAINTAINER, "APPROVED")
    before = len(harness.bot_comments(number))
    start = len(sim.requests)
    merge(harness, pr, by=CONTRACTOR)

    assert payments(harness) == []
    comment = bot_comment(harness, pr)
    assert "### Merged, not accepted: no payment" in english(comment)
    assert "- merged by someone other than the contractor" in english(comment)
    assert "- fusionnée par une autre personne que l'entrepreneur" in french(comment)
    assert "`/accept REASON`" in english(comment) and "`/accepter RAISON`" in french(comment)
    [notice] = harness.bot_comments(number)[before:]
    assert "### A merge did not pass acceptance: no payment" in english(notice)
    assert f"https://github.com/{REPO}/pull/{pr}, by dev-bob, merged by dev-bob" in english(notice)
    assert "- merged by someone other than the contractor" in english(notice)
    assert "### Une fusion n'a pas passé l'acceptation : aucun paiement" in french(notice)
    writes = writes_since(sim, start)
    assert ("POST", f"/repos/{REPO}/issues/{number}/comments") in writes
    assert not any(path.endswith("/labels") for _, path in writes)  # still awarded, not completed
    assert [a["gates"] for a in audit(harness, "merge_not_accepted")] == [["merged_by_contractor"]]

    # Anyone but a contract officer is refused.
    harness.comment(pr, MAINTAINER, "/accept the work is fine")
    assert "**`/accept` was not carried out.** Only contract officers" in english(last_reply(harness, pr))
    assert payments(harness) == []

    harness.comment(pr, OFFICER, "/accepter Reviewed the diff myself; the contractor merged by mistake.")
    [payment] = payments(harness)
    assert (payment.status, str(payment.amount)) == ("payable", "4263.16")
    reply = last_reply(harness, pr)
    assert "**Merge accepted: payment #1 recorded**" in english(reply)
    assert "Reviewed the diff myself; the contractor merged by mistake." in english(reply)
    kept_comment = english(kept(harness, pr))
    assert "### Milestone 1 accepted: payment #1 recorded" in kept_comment
    assert "Accepted by admin-olga with `/accept` although the merge did not pass acceptance." in kept_comment
    assert "### A merge accepted by a contract officer: payment #1 recorded" in english(harness.bot_comments(number)[-1])
    [recorded] = audit(harness, "payment_recorded")
    assert (recorded["actor"], recorded["accepted_by"], recorded["acceptance_reason"]) == (
        OFFICER,
        OFFICER,
        "Reviewed the diff myself; the contractor merged by mistake.",
    )

    # Once: a second /accept records nothing more.
    harness.comment(pr, OFFICER, "/accept again")
    assert "This merge was already accepted by admin-olga: its payment is #1." in english(last_reply(harness, pr))
    assert len(payments(harness)) == 1

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["export", "payments", "--format", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["accepted_by"], row["acceptance_reason"]) == (OFFICER, "Reviewed the diff myself; the contractor merged by mistake.")


def test_an_approval_cancelled_by_changes_requested_does_not_count(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.add_review(REPO, pr, MAINTAINER, "APPROVED")
    sim.add_review(REPO, pr, MAINTAINER, "COMMENTED")  # a comment changes nothing
    harness.act(sim.human_review(REPO, pr, MAINTAINER, "CHANGES_REQUESTED"))
    harness.run()
    assert "(0 so far" in english(bot_comment(harness, pr))
    merge(harness, pr)
    assert payments(harness) == []
    assert "- 1 approving review from people with write access who are not the contractor (0 so far" in english(bot_comment(harness, pr))
    assert [a["gates"] for a in audit(harness, "merge_not_accepted")] == [["approvals_missing"]]


def test_two_approvals_when_the_repository_asks_for_two(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "acceptance:\n  approvals: 2\n"
    sim.set_permission(REPO, REVIEWER, "write")
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    harness.act(sim.human_review(REPO, pr, MAINTAINER, "APPROVED"))
    harness.run()
    assert "- 2 approving reviews from people with write access who are not the contractor (1 so far" in english(bot_comment(harness, pr))
    sim.add_review(REPO, pr, REVIEWER, "APPROVED")
    merge(harness, pr)
    assert len(payments(harness)) == 1


def test_a_merge_into_another_branch_does_not_pay(harness, sim):
    number = awarded_opportunity(harness)
    harness.act(sim.human_open_pull_request(REPO, "Cache", f"Closes #{number}", CONTRACTOR, base_ref="release"))
    harness.run()
    pr = max(sim.issues[REPO])
    assert "- merged into the branch `main`" in english(bot_comment(harness, pr))
    sim.add_review(REPO, pr, MAINTAINER, "APPROVED")
    merge(harness, pr)
    assert payments(harness) == []
    assert [a["gates"] for a in audit(harness, "merge_not_accepted")] == [["wrong_branch"]]


def test_failing_or_pending_checks_block_the_payment_unless_the_repository_turns_checks_off(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.add_review(REPO, pr, MAINTAINER, "APPROVED")
    sim.add_check_run(REPO, pr, "tests", "success")
    sim.add_check_run(REPO, pr, "lint", "skipped")
    sim.add_check_run(REPO, pr, "security", "failure")
    sim.add_status(REPO, pr, "ci/deploy-preview", "pending")
    merge(harness, pr)
    assert payments(harness) == []
    comment = english(bot_comment(harness, pr))
    assert "(not yet: `security: failure`, `ci/deploy-preview: pending`)" in comment
    assert [a["gates"] for a in audit(harness, "merge_not_accepted")] == [["checks_failing"]]

    sim.repositories[REPO]["files"][".github/devex.yml"] = "acceptance:\n  checks: none\n"
    second = open_pull_request(harness, f"Closes #{number}\nMilestone: 2", title="Build")
    sim.add_review(REPO, second, MAINTAINER, "APPROVED")
    sim.add_check_run(REPO, second, "security", "failure")
    merge(harness, second)
    [payment] = payments(harness)
    assert payment.pull_request_number == second


def test_a_pull_request_in_another_repository_pays_nothing_and_cannot_be_accepted(harness, sim):
    sandbox = "octo-org/sandbox"
    sim.add_repo(sandbox)
    sim.installations[INSTALLATION]["repositories"].append(sandbox)
    sim.set_permission(sandbox, CONTRACTOR, "admin")
    number = awarded_opportunity(harness)
    harness.act(sim.human_open_pull_request(sandbox, "Empty", f"Fixes {REPO}#{number}\nMilestone: 2", CONTRACTOR))
    harness.run()
    pr = max(sim.issues[sandbox])
    sim.add_review(sandbox, pr, CONTRACTOR, "APPROVED")
    harness.act(sim.human_merge_pull_request(sandbox, pr, CONTRACTOR))
    harness.run()
    assert payments(harness) == []
    [comment] = [c["body"] for c in sim.issue_comments(sandbox, pr) if c["user"] != CONTRACTOR]
    assert "### Merged: no payment" in english(comment)
    assert f"only the work merged in the opportunity's own repository, {REPO}, earns its milestones" in english(comment)
    assert [a["reason"] for a in audit(harness, "merge_pays_nothing")] == ["other_repository"]
    assert harness.labels(number).count("devex:awarded") == 1


def test_the_manifest_asks_for_checks_and_statuses_and_the_review_event():
    manifest = yaml.safe_load((Path(__file__).resolve().parents[1] / "app.yml").read_text())
    assert manifest["default_permissions"]["checks"] == "read"
    assert manifest["default_permissions"]["statuses"] == "read"
    assert "pull_request_review" in manifest["default_events"]
