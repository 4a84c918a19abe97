"""Finance and governance (issue 17), end to end: funds committed before an opportunity
opens (/commit), work certified before payment (/certify), who may mark a payment
paid, and contract splitting flagged at /award and /approve.

Signed deliveries built from the real payloads, through POST /webhooks, the
worker and the sender, against the simulated GitHub; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.procurement import splitting
from bot.procurement.config import ConfigError, parse_config
from storage import procurement as store
from storage.tables import AuditEvent, Award, Certification, FundsCommitment, Opportunity, Payment, Proposal
from tests.conftest import REPO
from tests.evaluation_flows import AFTER_DEADLINE, close_bidding, labelled
from tests.flows import bid, english, french, last_reply, open_opportunity, register
from tests.test_pay_on_pull import CONTRACTOR, MAINTAINER, OFFICER, awarded_opportunity, bot_comment, merge, open_pull_request, payments

COMMITMENT = "finance:\n  commitment_required: true\nfinance_officers: [fin-fay]\n"
CERTIFICATION = "finance:\n  certification_required: true\nfinance_officers: [fin-fay]\n"


def configure(sim, text: str) -> None:
    sim.repositories[REPO]["files"][".github/devex.yml"] = text


def summary(harness, number: int) -> str:
    return harness.bot_comments(number)[0]


def events(harness, kind: str) -> list[dict]:
    with Session(harness.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all()
        return [dict(json.loads(r.detail), actor=r.actor) for r in rows]


# ---------------------------------------------------------------- configuration


def test_the_finance_keys_have_defaults_and_are_read():
    config = parse_config(None)
    assert (config.finance.commitment_required, config.finance.certification_required) == (False, False)
    assert config.finance_officers == [] and config.splitting_window_days == 365
    assert (config.disclosure.owner_org, config.disclosure.economic_object_code) == (None, None)
    config = parse_config(
        "finance_officers: [fin-fay, '@octo-org/finance']\nsplitting_window_days: 180\n"
        "finance:\n  commitment_required: true\n  certification_required: true\n"
        "disclosure:\n  owner_org: tbs-sct\n  economic_object_code: 0491\n"
    )
    assert config.finance_officer_logins == ["fin-fay"] and config.finance_officer_teams == [("octo-org", "finance")]
    assert config.finance.commitment_required and config.finance.certification_required
    assert config.splitting_window_days == 180
    # Unquoted, 0491 is a number in YAML: the object code keeps its four digits.
    assert (config.disclosure.owner_org, config.disclosure.economic_object_code) == ("tbs-sct", "0491")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("finance: yes", [("finance", "not_a_group")]),
        ("finance:\n  commitment_requird: true", [("finance.commitment_requird", "unknown_key")]),
        ("finance:\n  certification_required: 1", [("finance.certification_required", "not_a_boolean")]),
        ("disclosure:\n  owner: x", [("disclosure.owner", "unknown_key")]),
        ("disclosure:\n  owner_org: [a]", [("disclosure.owner_org", "not_text")]),
        ("splitting_window_days: 0", [("splitting_window_days", "window_out_of_range")]),
        ("splitting_window_days: a year", [("splitting_window_days", "not_an_integer")]),
        ("finance_officers: [-x-]", [("finance_officers[0]", "login_unreadable")]),
    ],
)
def test_each_wrong_finance_key_is_named(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.problems == expected


def test_an_invalid_finance_key_is_said_in_one_message_in_both_languages(harness, sim):
    configure(sim, "finance:\n  commitment_required: maybe\nsplitting_window_days: 0\n")
    number = open_opportunity(harness)
    [message] = harness.bot_comments(number)
    assert "- `finance.commitment_required` must be `true` or `false`" in english(message)
    assert "- `splitting_window_days` is out of range (1 to 3650 days)" in english(message)
    assert "- `finance.commitment_required` doit être `true` ou `false`" in french(message)
    assert not [label for label in harness.labels(number) if label.startswith("devex:")]


# ---------------------------------------------------------------- funds commitment (FAA s. 32)


def test_an_opportunity_waits_for_its_funds_then_a_finance_officer_opens_it(harness, sim):
    configure(sim, COMMITMENT)
    number = open_opportunity(harness)
    labels = harness.labels(number)
    assert "devex:needs-commitment" in labels and "devex:open" not in labels
    text = summary(harness, number)
    assert "**State:** waiting for funds to be committed" in text
    assert "**Not open yet: this opportunity waits for its funds to be committed** (Financial Administration Act, section 32)" in text
    assert "**Pas encore ouverte : cette occasion attend l'engagement de ses fonds**" in text
    assert "How to bid" not in text

    # Bids are not taken yet.
    register(harness, number, "bob")
    bid(harness, number, "bob", "8,000.00")
    reply = last_reply(harness, number)
    assert "This opportunity is not open yet: it waits for a finance officer to commit its funds" in english(reply)
    assert "elle attend qu'un agent financier engage ses fonds" in french(reply)
    with Session(harness.engine) as session:
        assert not session.exec(select(Proposal)).all()

    # Only a finance officer commits: not an issuer, not an admin while a list is set.
    for login in (MAINTAINER, OFFICER, "bob"):
        harness.comment(number, login, "/commit FC-2026-0117")
        reply = last_reply(harness, number)
        assert reply.startswith(f"@{login}")
        assert "Only a finance officer may record a funds commitment: those listed in `finance_officers` in `.github/devex.yml` (fin-fay)." in english(reply)
        assert "Seul un agent financier peut consigner un engagement de fonds" in french(reply)
    harness.comment(number, "fin-fay", "/commit")
    assert "Write `/commit REFERENCE`" in last_reply(harness, number)
    assert "devex:needs-commitment" in harness.labels(number)

    harness.comment(number, "fin-fay", "/engager FC-2026-0117")
    reply = last_reply(harness, number)
    assert "**Funds committed**, reference FC-2026-0117, for $9,500.00. The opportunity is now open for proposals until 2026-11-20 19:00 UTC" in english(reply)
    assert "**Fonds engagés**, référence FC-2026-0117" in french(reply)
    labels = harness.labels(number)
    assert "devex:open" in labels and "devex:needs-commitment" not in labels
    text = summary(harness, number)
    assert "| Funds commitment | FC-2026-0117, by fin-fay, 2026-11-02 15:00 UTC |" in text
    assert "| Engagement des fonds | FC-2026-0117, par fin-fay, 2026-11-02 15:00 UTC |" in text
    assert "How to bid" in text
    [event] = events(harness, "funds_committed")
    assert (event["actor"], event["reference"], event["amount"]) == ("fin-fay", "FC-2026-0117", "9500.00")

    # Once open, a second commitment is refused, saying which one stands.
    harness.comment(number, "fin-fay", "/commit FC-2026-0999")
    assert "The funds of this opportunity are already committed (reference FC-2026-0117)." in last_reply(harness, number)

    # Then everything proceeds as today, the reference on the award review.
    bid(harness, number, "bob", "8,000.00")
    assert "Proposal received" in last_reply(harness, number)
    harness.clock.now = AFTER_DEADLINE
    harness.run()
    harness.comment(number, MAINTAINER, "/score @bob 90\n/award @bob")
    [review] = labelled(sim, "devex:award-review")
    assert "| Funds commitment | FC-2026-0117, by fin-fay, 2026-11-02 15:00 UTC (Financial Administration Act, section 32) |" in review["body"]
    assert "| Engagement des fonds | FC-2026-0117, par fin-fay" in review["body"]


def test_without_finance_officers_the_contract_officers_commit_and_teams_count(harness, sim):
    configure(sim, "finance:\n  commitment_required: true\n")
    number = open_opportunity(harness)
    harness.comment(number, MAINTAINER, "/commit FC-1")
    assert "the contract officers, since `finance_officers` in `.github/devex.yml` is empty" in last_reply(harness, number)
    harness.comment(number, OFFICER, "/commit FC-1")  # a repository admin: a contract officer
    assert "**Funds committed**" in last_reply(harness, number)

    configure(sim, "finance:\n  commitment_required: true\nfinance_officers: ['@octo-org/finance']\n")
    sim.add_team_member("octo-org", "finance", "fin-fred")
    other = open_opportunity(harness, title="Second")
    harness.comment(other, OFFICER, "/commit FC-2")
    assert "(@\u200bocto-org/finance)" in last_reply(harness, other)
    harness.comment(other, "fin-fred", "/commit FC-2")
    assert "**Funds committed**" in last_reply(harness, other)


def test_help_and_a_repository_without_the_control(harness, sim):
    configure(sim, COMMITMENT)
    number = open_opportunity(harness)
    harness.comment(number, "bob", "/help")
    reply = english(last_reply(harness, number))
    assert "| `/commit REFERENCE` | `/engager` | record the funds commitment; the opportunity opens |  finance officers only |" in reply
    harness.comment(number, "fin-fay", "/aide")
    assert "| `/commit REFERENCE` | `/engager` | record the funds commitment; the opportunity opens | ✅ |" in english(last_reply(harness, number))

    configure(sim, "finance_officers: [fin-fay]\n")
    plain = open_opportunity(harness, title="No control")
    assert "devex:open" in harness.labels(plain)
    harness.comment(plain, "fin-fay", "/commit FC-3")
    assert "This repository does not require a funds commitment before an opportunity opens" in last_reply(harness, plain)


def test_an_edit_while_waiting_is_read_again_and_a_raised_value_needs_new_funds(harness, sim):
    configure(sim, COMMITMENT)
    number = open_opportunity(harness)
    harness.act(sim.human_edit_issue(REPO, number, MAINTAINER, body=_body(value="")))
    harness.run()
    assert "devex:needs-changes" in harness.labels(number)
    harness.comment(number, "fin-fay", "/commit FC-1")
    assert "This opportunity's form needs changes first" in last_reply(harness, number)
    harness.act(sim.human_edit_issue(REPO, number, MAINTAINER, body=_body(value="9,000.00", milestones="")))
    harness.run()
    assert "devex:needs-commitment" in harness.labels(number)
    harness.comment(number, "fin-fay", "/commit FC-1")
    assert "for $9,000.00" in last_reply(harness, number)
    assert "devex:open" in harness.labels(number)


def test_the_deadline_passed_while_waiting(harness, sim, clock):
    configure(sim, COMMITMENT)
    number = open_opportunity(harness)
    clock.now = AFTER_DEADLINE
    harness.run()
    assert "devex:needs-commitment" in harness.labels(number)  # no bidding closed: it never opened
    harness.comment(number, "fin-fay", "/commit FC-1")
    assert "has already passed: opening now would leave no time to bid" in last_reply(harness, number)
    assert "devex:needs-commitment" in harness.labels(number)
    harness.comment(number, MAINTAINER, "/extend 2026-12-04")
    assert "**Deadline extended**" in last_reply(harness, number)
    assert "devex:needs-commitment" in harness.labels(number)  # extended, still waiting for its funds
    # It may still be cancelled, as any opportunity before its award.
    harness.comment(number, MAINTAINER, "/cancel no funds this year")
    assert "devex:cancelled" in harness.labels(number)


def _body(**form) -> str:
    from tests.flows import form_body

    return form_body(**form)


# ---------------------------------------------------------------- certification (FAA s. 34)


def test_a_payment_waits_for_certification_before_it_can_be_paid(harness, sim, clock):
    configure(sim, CERTIFICATION)
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    clock.advance(days=3)
    merge(harness, pr)
    [payment] = payments(harness)
    assert payment.status == "awaiting-certification"
    comment = english(bot_comment(harness, pr))
    assert "| Due | 30 days after the work is certified |" in comment
    assert "| Status | awaiting certification of the work |" in comment
    assert f"with `/certify 1` on {REPO}#{number}" in comment
    assert "`/certifier 1`" in french(bot_comment(harness, pr))
    assert "(payment #1, awaiting certification of the work)" in summary(harness, number)

    # Nothing is paid that was not certified.
    harness.comment(number, OFFICER, "/paid 1 EFT-1")
    reply = last_reply(harness, number)
    assert "Payment #1 cannot be paid yet: no one has certified that its work was performed (Financial Administration Act, section 34)." in english(reply)
    assert "Le paiement no 1 ne peut pas encore être versé" in french(reply)

    # Not by the contractor, not by a stranger; no overdue notice while it waits.
    harness.comment(number, CONTRACTOR, "/certify 1")
    assert "You are the contractor: someone other than the supplier certifies" in last_reply(harness, number)
    harness.comment(number, "mallory", "/certify 1")
    assert "Only a technical authority certifies work" in last_reply(harness, number)
    before = len(harness.bot_comments(number))
    clock.advance(days=40)
    harness.run()
    assert len(harness.bot_comments(number)) == before
    assert payments(harness)[0].status == "awaiting-certification"

    harness.comment(number, MAINTAINER, "/certifier #1")
    reply = last_reply(harness, number)
    assert "**Work certified for payment #1**: $4,263.16 to dev-bob for milestone 1, **Design**. It is payable, due 2027-01-14 15:00 UTC" in english(reply)
    assert "**Travail certifié pour le paiement no 1**" in french(reply)
    [payment] = payments(harness)
    assert payment.status == "payable" and payment.due_at == clock() + timedelta(days=30)
    with Session(harness.engine) as session:
        [row] = session.exec(select(Certification)).all()
        assert (row.payment_id, row.certified_by, row.certified_at) == (1, MAINTAINER, clock())
    [event] = events(harness, "payment_certified")
    assert (event["actor"], event["payment_id"], event["amount"]) == (MAINTAINER, 1, "4263.16")
    assert "(payment #1, payable)" in summary(harness, number)

    harness.comment(number, MAINTAINER, "/certify 1")
    assert "Payment #1 is not awaiting certification: it is payable, certified by pm-alice on 2026-12-15 15:00 UTC." in last_reply(harness, number)
    harness.comment(number, MAINTAINER, "/certify 9")
    assert "This opportunity has no payment #9." in last_reply(harness, number)

    # A finance officer pays it; a finance officer does not terminate.
    harness.comment(number, "fin-fay", "/paid 1 EFT-2026-0042")
    assert "**Payment #1 recorded as paid:**" in last_reply(harness, number)
    assert payments(harness)[0].paid_by == "fin-fay"
    harness.comment(number, "fin-fay", "/terminate budget")
    assert "Only contract officers (those listed in `contract_officers`, or the repository's administrators when that list is empty) may end a contract." in last_reply(harness, number)


def test_without_the_control_a_merge_is_payable_at_once(harness, sim):
    configure(sim, "finance_officers: [fin-fay]\n")
    number = awarded_opportunity(harness)
    merge(harness, open_pull_request(harness, f"Closes #{number}"))
    assert payments(harness)[0].status == "payable"
    harness.comment(number, MAINTAINER, "/certify 1")
    assert "Payment #1 is not awaiting certification: it is payable." in last_reply(harness, number)
    harness.comment(number, "mallory", "/paid 1 EFT-1")
    assert "and finance officers (those listed in `finance_officers`" in last_reply(harness, number)
    harness.comment(number, "fin-fay", "/paid 1 EFT-1")
    assert payments(harness)[0].status == "paid"


# ---------------------------------------------------------------- contract splitting


def test_the_splitting_rule_counts_the_window_the_organization_and_the_contractor():
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    prior = [
        splitting.PriorAward(1, "octo-org", "Bob", Decimal("3000.00"), now - timedelta(days=100)),
        splitting.PriorAward(2, "octo-org", "bob", Decimal("5000.00"), now - timedelta(days=366)),  # outside the window
        splitting.PriorAward(3, "other-org", "bob", Decimal("5000.00"), now - timedelta(days=10)),  # another organization
        splitting.PriorAward(4, "octo-org", "carol", Decimal("5000.00"), now - timedelta(days=10)),  # another contractor
    ]
    counted = splitting.counted(prior, organization="Octo-Org", contractor="bob", now=now, window_days=365)
    assert [p.award_id for p in counted] == [1]
    assert splitting.flagged(counted, Decimal("7000.00"), Decimal("9999.00"))
    assert not splitting.flagged(counted, Decimal("6999.00"), Decimal("9999.00"))  # exactly the cap does not pass it
    assert not splitting.flagged([], Decimal("9999.00"), Decimal("9999.00"))
    assert splitting.organization_of("Octo-Org/procurement") == "octo-org"


def prior_award(harness, *, amount: str, days_ago: int, status: str = "approved", repository: str = REPO, contractor: str = "bob", number: int = 900) -> None:
    """An earlier opportunity of `repository` awarded to `contractor` (rows written as /approve leaves them)."""
    at = AFTER_DEADLINE - timedelta(days=days_ago)
    with Session(harness.engine, expire_on_commit=False) as session:
        opportunity = Opportunity(
            installation_id=77, repository=repository, issue_number=number, title=f"Earlier work {number}",
            html_url=f"https://github.com/{repository}/issues/{number}", author="pm-alice", state="completed",
            value=Decimal(amount), created_at=at, updated_at=at,
        )
        store.save(session, opportunity)
        proposal = Proposal(opportunity_id=opportunity.id, bidder=contractor, amount=Decimal(amount), submitted_at=at, receipt_number=f"R-{number}", sha256="0" * 64)
        store.save(session, proposal)
        store.save(
            session,
            Award(
                opportunity_id=opportunity.id, proposal_id=proposal.id, contractor=contractor, amount=Decimal(amount),
                recommended_by="pm-alice", status=status, review_repository=repository, recommended_at=at,
                decided_by=OFFICER, decided_at=at,
            ),
        )
        session.commit()


def test_awards_that_together_pass_the_cap_are_flagged_and_approval_needs_a_justification(harness, sim):
    prior_award(harness, amount="3000.00", days_ago=100, number=901)
    prior_award(harness, amount="1500.00", days_ago=30, number=902)
    prior_award(harness, amount="5000.00", days_ago=400, number=903)  # outside the window
    prior_award(harness, amount="5000.00", days_ago=20, status="rejected", number=904)
    prior_award(harness, amount="5000.00", days_ago=20, status="cancelled", number=905)
    prior_award(harness, amount="5000.00", days_ago=20, repository="other-org/tools", number=906)  # another organization
    prior_award(harness, amount="5000.00", days_ago=20, contractor="carol", number=907)
    number = close_bidding(harness)
    harness.comment(number, MAINTAINER, "/score @bob 90\n/score @carol 70\n/score @dave 60\n/award @bob")
    [review] = labelled(sim, "devex:award-review")
    body = review["body"]
    assert "> **Possible contract splitting.** In the last 365 days the same organization awarded this contractor the contracts below; with this award of $8,000.00 they add up to **$12,500.00**, over the cap of $9,999.00." in body
    assert f"> - https://github.com/{REPO}/issues/901 (Earlier work 901): $3,000.00, approved 2026-08-13 15:00 UTC" in body
    assert f"> - https://github.com/{REPO}/issues/902 (Earlier work 902): $1,500.00, approved 2026-10-22 15:00 UTC" in body
    assert "> **Fractionnement possible du marché.**" in body and "**12\u00a0500,00\u00a0$**" in body
    for other in (903, 904, 905, 906, 907):
        assert f"/issues/{other}" not in body
    [recommended] = events(harness, "award_recommended")
    assert recommended["splitting"]["total"] == "12500.00" and [a["award_id"] for a in recommended["splitting"]["awards"]] == [1, 2]

    harness.comment(review["number"], OFFICER, "/approve")
    reply = last_reply(harness, review["number"])
    assert "**Possible contract splitting.** With the awards below, made to this contractor by the same organization in the last 365 days, this award of $8,000.00 brings the total to **$12,500.00**, over the cap of $9,999.00" in english(reply)
    assert f"- https://github.com/{REPO}/issues/901: $3,000.00, approved 2026-08-13 15:00 UTC" in english(reply)
    assert "**Fractionnement possible du marché.**" in french(reply)
    assert "devex:review" in harness.labels(number)

    harness.comment(review["number"], OFFICER, "/approve Separate needs: the earlier contracts were for unrelated documentation work.")
    reply = last_reply(harness, review["number"])
    assert "**Award approved.** @bob is the contractor, for $8,000.00." in reply
    assert "Justification recorded: Separate needs: the earlier contracts were for unrelated documentation work." in reply
    assert "devex:awarded" in harness.labels(number)
    with Session(harness.engine) as session:
        award = session.exec(select(Award).where(Award.status == "approved", Award.amount == Decimal("8000.00"))).one()
        assert award.decision_reason == "Separate needs: the earlier contracts were for unrelated documentation work."
    [approved] = events(harness, "award_approved")
    assert approved["justification"].startswith("Separate needs") and approved["splitting"]["total"] == "12500.00"


def test_an_award_within_the_cap_or_outside_the_window_is_not_flagged(harness, sim):
    configure(sim, "splitting_window_days: 60\n")
    prior_award(harness, amount="3000.00", days_ago=100, number=901)  # outside a 60-day window
    prior_award(harness, amount="1999.00", days_ago=10, number=902)  # with $8,000.00: $9,999.00, not over the cap
    number = close_bidding(harness, config="splitting_window_days: 60\n")
    harness.comment(number, MAINTAINER, "/score @bob 90\n/award @bob")
    [review] = labelled(sim, "devex:award-review")
    assert "Possible contract splitting" not in review["body"]
    harness.comment(review["number"], OFFICER, "/approve")
    assert "**Award approved.**" in last_reply(harness, review["number"])


def test_an_award_approved_meanwhile_is_counted_at_approve(harness, sim):
    number = close_bidding(harness)
    harness.comment(number, MAINTAINER, "/score @bob 90\n/award @bob")
    [review] = labelled(sim, "devex:award-review")
    assert "Possible contract splitting" not in review["body"]
    prior_award(harness, amount="2500.00", days_ago=0, number=901)  # approved elsewhere since /award
    harness.comment(review["number"], OFFICER, "/approve")
    assert "brings the total to **$10,500.00**" in last_reply(harness, review["number"])
    harness.comment(review["number"], OFFICER, "/approuver Travaux distincts")
    assert "**Attribution approuvée.**" in last_reply(harness, review["number"])


# ---------------------------------------------------------------- exports and proactive disclosure


def test_the_exports_carry_the_commitment_the_certification_and_the_justification(harness, sim, db_url, monkeypatch, tmp_path):
    import csv
    import io

    from bot.cli import main as cli

    configure(sim, "finance:\n  commitment_required: true\n  certification_required: true\nfinance_officers: [fin-fay]\ndisclosure:\n  owner_org: tbs-sct\n  economic_object_code: '0491'\n")
    prior_award(harness, amount="3000.00", days_ago=100, number=901)
    number = open_opportunity(harness)
    harness.comment(number, "fin-fay", "/commit FC-2026-0117")
    register(harness, number, "bob")
    bid(harness, number, "bob", "8,000.00")
    harness.clock.now = AFTER_DEADLINE
    harness.run()
    harness.comment(number, MAINTAINER, "/score @bob 90\n/award @bob")
    [review] = labelled(sim, "devex:award-review")
    harness.comment(review["number"], OFFICER, "/approve Unrelated work for another team.")
    harness.act(sim.human_open_pull_request(REPO, "Design", f"Closes #{number}", "bob"))
    harness.run()
    pr = max(sim.issues[REPO])
    merge(harness, pr)
    harness.comment(number, MAINTAINER, "/certify 1")

    monkeypatch.setenv("DATABASE_URL", db_url)

    def exported(what: str, *extra: str) -> list[dict]:
        out = tmp_path / f"{what}.csv"
        assert cli(["export", what, "--output", str(out), *extra]) == 0
        return list(csv.DictReader(io.StringIO(out.read_text())))

    awards = exported("awards")
    mine = next(r for r in awards if r["opportunity_url"].endswith(f"/issues/{number}"))
    assert (mine["commitment_reference"], mine["justification"], mine["splitting_total"]) == ("FC-2026-0117", "Unrelated work for another team.", "11000.00")
    [payment] = exported("payments")
    assert (payment["status"], payment["certified_by"], payment["commitment_reference"]) == ("payable", MAINTAINER, "FC-2026-0117")
    assert payment["certified_at"] == "2026-11-21T15:00:00Z" and payment["due"] == "2026-12-21T15:00:00Z"
    assert {r["commitment_reference"] for r in exported("proposals")} == {"FC-2026-0117"}

    # The proactive-disclosure record: contractsa's fields, totals equal to the awards export's.
    [record] = exported("disclosure", "--year", "2026")
    assert list(record) == [
        "owner_org", "year", "contract_goods_number_of", "contracts_goods_original_value", "contracts_goods_amendment_value",
        "contract_service_number_of", "contracts_service_original_value", "contracts_service_amendment_value",
        "contract_construction_number_of", "contracts_construction_original_value", "contracts_construction_amendment_value",
        "acquisition_card_transactions_number_of", "acquisition_card_transactions_total_value", "economic_object_code",
    ]
    approved_2026 = [r for r in awards if r["status"] == "approved" and r["approved_at"].startswith("2026")]
    assert record["contract_service_number_of"] == str(len(approved_2026)) == "2"
    assert Decimal(record["contracts_service_original_value"]) == sum(Decimal(r["amount"]) for r in approved_2026) == Decimal("11000.00")
    assert (record["owner_org"], record["year"], record["economic_object_code"]) == ("tbs-sct", "2026", "0491")
    assert record["contract_goods_number_of"] == "0" and record["contracts_goods_original_value"] == "0.00"
    assert record["contracts_service_amendment_value"] == "0.00"
    assert exported("disclosure", "--year", "2025") == []
    out = tmp_path / "disclosure.json"
    assert cli(["export", "disclosure", "--format", "json", "--output", str(out)]) == 0
    [as_json] = json.loads(out.read_text())
    assert as_json["contracts_service_original_value"] == "11000.00" and as_json["contract_service_number_of"] == 2
