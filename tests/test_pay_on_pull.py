"""Pay on pull, end to end: the contractor's pull requests accept milestones and record payments.

Signed deliveries built from the real payloads (`sim.human_*`), through
POST /webhooks, the worker and the sender, against the simulated GitHub; on
SQLite and PostgreSQL. The opportunity is put in the awarded state by
`award_directly` (see there).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from bot.procurement.ranking import split_contract
from storage import procurement as store
from storage.tables import AuditEvent, Award, Milestone, Opportunity, Payment, Proposal, PullRequestLink
from tests.conftest import REPO
from tests.flows import english, french, last_reply, open_opportunity

CONTRACTOR = "dev-bob"
OFFICER = "admin-olga"  # a repository admin: a contract officer while `contract_officers` is empty
MAINTAINER = "pm-alice"


# ---------------------------------------------------------------- the awarded state


def award_directly(harness, number: int, contractor: str = CONTRACTOR, amount: str = "9000.00") -> None:
    """Puts opportunity `number` in the state the /approve of issues 4/8 leaves it in,
    by writing the rows through storage functions: an approved Award (and the
    Proposal it needs), the opportunity `awarded` with its contractor and
    contract value, each milestone's share of the award, and the issue's label.

    A stand-in for the real flow (`/award @dev-bob` then `/approve` on the
    review issue): replace its calls with that flow once it is built.
    """
    now = harness.clock()
    award = Decimal(amount)
    with Session(harness.engine, expire_on_commit=False) as session:
        opportunity = store.opportunity_by_issue(session, REPO, number)
        proposal = Proposal(
            opportunity_id=opportunity.id,
            bidder=contractor,
            amount=award,
            submitted_at=now,
            receipt_number="R-fixture",
            sha256="0" * 64,
        )
        store.save(session, proposal)
        store.save(
            session,
            Award(
                opportunity_id=opportunity.id,
                proposal_id=proposal.id,
                contractor=contractor,
                amount=award,
                recommended_by=MAINTAINER,
                status="approved",
                review_repository=REPO,
                recommended_at=now,
                decided_by=OFFICER,
                decided_at=now,
            ),
        )
        milestones = store.milestones(session, opportunity.id)
        for milestone, share in zip(milestones, split_contract(opportunity.value, award, [m.amount for m in milestones])):
            milestone.contract_amount = share
        opportunity.state = "awarded"
        opportunity.contractor = contractor
        opportunity.contract_value = award
        store.save(session, opportunity, *milestones)
        session.commit()
    # The labels /approve leaves (the deliveries these return are not sent: the bot made the change).
    for label in [l for l in harness.labels(number) if l.startswith("devex:")]:
        harness.sim.human_unlabel(REPO, number, OFFICER, label)
    harness.sim.human_label(REPO, number, OFFICER, "devex:awarded")


def awarded_opportunity(harness, amount: str = "9000.00") -> int:
    """Value $9,500.00, milestones Design $4,500.00 and Build $5,000.00, awarded to dev-bob
    for $9,000.00: the milestones' shares are $4,263.16 and $4,736.84."""
    number = open_opportunity(harness)
    award_directly(harness, number, amount=amount)
    return number


# ---------------------------------------------------------------- helpers


def open_pull_request(harness, body: str, login: str = CONTRACTOR, title: str = "Cache the dependencies", **kw) -> int:
    harness.act(harness.sim.human_open_pull_request(REPO, title, body, login, **kw))
    harness.run()
    return max(harness.sim.issues[REPO])


def merge(harness, number: int, by: str = MAINTAINER, approved: bool = True) -> None:
    """`by` merges it; `approved`: a maintainer approved it first (acceptance needs one approval)."""
    if approved:
        harness.sim.add_review(REPO, number, MAINTAINER, "APPROVED")
    harness.act(harness.sim.human_merge_pull_request(REPO, number, by))
    harness.run()


def bot_comment(harness, number: int) -> str:
    """The bot's one comment on a pull request."""
    [body] = harness.bot_comments(number)
    return body


def comment_posts(sim, number: int) -> int:
    return sim.count_requests("POST", rf"/issues/{number}/comments$")


def payments(harness) -> list[Payment]:
    with Session(harness.engine) as session:
        return list(session.exec(select(Payment).order_by(Payment.id)).all())


def milestone_states(harness, number: int) -> list[str]:
    with Session(harness.engine) as session:
        opportunity = store.opportunity_by_issue(session, REPO, number)
        return [m.status for m in store.milestones(session, opportunity.id)]


def opportunity_state(harness, number: int) -> str:
    with Session(harness.engine) as session:
        return store.opportunity_by_issue(session, REPO, number).state


def summary(harness, number: int) -> str:
    return harness.bot_comments(number)[0]


# ---------------------------------------------------------------- linking and the pull request comment


def test_the_contractors_pull_requests_pay_each_milestone_then_the_opportunity_is_completed(harness, sim, clock):
    number = awarded_opportunity(harness)

    pr = open_pull_request(harness, f"Caches pip and npm.\n\nCloses #{number}")
    comment = bot_comment(harness, pr)
    en = english(comment)
    assert "### Merging this pull request pays milestone 1" in en
    assert f"milestone 1, **Design**, of {REPO}#{number} is accepted" in en
    assert "a payment of **$4,263.16** (taxes included) to @dev-bob is recorded, due 30 days after the merge" in en
    assert "### La fusion de cette demande de tirage paie le jalon 1" in french(comment)
    assert "**4\u00a0263,16\u00a0$**" in french(comment)
    assert not payments(harness)

    clock.advance(days=3)
    merge(harness, pr)
    comment = bot_comment(harness, pr)  # still one comment, edited in place
    assert comment_posts(sim, pr) == 1
    en = english(comment)
    assert "### Milestone 1 accepted: payment #1 recorded" in en
    assert "| Amount | **$4,263.16** (taxes included) |" in en
    assert "| Merged | 2026-11-05 15:00 UTC (2026-11-05 10:00 EST, America/Toronto) by pm-alice |" in en
    assert "| Due | 2026-12-05 15:00 UTC (2026-12-05 10:00 EST, America/Toronto) (30 days after the merge) |" in en
    assert "| Status | payable |" in en
    assert f"`/paid 1 REFERENCE` on {REPO}#{number}" in en
    assert "completed" not in en
    assert "`/paye 1 RÉFÉRENCE`" in french(comment)

    [payment] = payments(harness)
    assert (payment.contractor, payment.amount, payment.status) == (CONTRACTOR, Decimal("4263.16"), "payable")
    assert payment.pull_request_url == f"https://github.com/{REPO}/pull/{pr}" and payment.pull_request_number == pr
    assert payment.merged_at == datetime(2026, 11, 5, 15, tzinfo=timezone.utc)
    assert payment.due_at == datetime(2026, 12, 5, 15, tzinfo=timezone.utc)
    assert payment.merged_by == MAINTAINER
    assert milestone_states(harness, number) == ["accepted", "open"]
    assert opportunity_state(harness, number) == "awarded"
    assert "| 1 | Design | $4,263.16 | accepted (payment #1, payable) |" in summary(harness, number)

    # The second pull request names the opportunity with a line and the milestone by name.
    second = open_pull_request(harness, f"Opportunity: #{number}\nMilestone: build\n\nSplits the tests.", title="Split the tests")
    assert "pays milestone 2" in bot_comment(harness, second)
    assert "**$4,736.84**" in bot_comment(harness, second)
    merge(harness, second)

    en = english(bot_comment(harness, second))
    assert "### Milestone 2 accepted: payment #2 recorded" in en
    assert f"Every milestone is accepted: {REPO}#{number} is **completed**." in en
    assert [p.amount for p in payments(harness)] == [Decimal("4263.16"), Decimal("4736.84")]
    assert sum(p.amount for p in payments(harness)) == Decimal("9000.00")
    assert milestone_states(harness, number) == ["accepted", "accepted"]
    assert opportunity_state(harness, number) == "completed"
    labels = harness.labels(number)
    assert "devex:completed" in labels and "devex:awarded" not in labels
    assert "| 2 | Build | $4,736.84 | accepted (payment #2, payable) |" in summary(harness, number)
    with Session(harness.engine) as session:
        kinds = [e.kind for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert kinds.count("payment_recorded") == 2 and "state_changed" in kinds

    # A third pull request finds nothing left to pay.
    third = open_pull_request(harness, f"Fixes #{number}", title="More")
    assert "every milestone of the contract is already accepted." in english(bot_comment(harness, third))


@pytest.mark.parametrize(
    "body",
    [
        "fixes octo-org/procurement#{n}",
        "RESOLVED https://github.com/octo-org/procurement/issues/{n}",
        "Work for the opportunity.\n\n**Opportunity:** octo-org/procurement#{n}",
    ],
)
def test_every_form_of_reference_ties_the_pull_request(harness, sim, body):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, body.format(n=number))
    assert "pays milestone 1" in bot_comment(harness, pr)


def test_a_pull_request_from_a_fork_pays_too(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}", head_repo="dev-bob/procurement")
    assert sim.human_events[-1][1]["pull_request"]["head"]["repo"]["full_name"] == "dev-bob/procurement"
    merge(harness, pr)
    [payment] = payments(harness)
    assert payment.amount == Decimal("4263.16")
    assert "payment #1 recorded" in bot_comment(harness, pr)


def test_someone_elses_pull_request_pays_nothing(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}", login="mallory")
    en = english(bot_comment(harness, pr))
    assert "### Merging this pull request pays nothing" in en
    assert f"It names {REPO}#{number}, but merging it pays nothing: only the contractor's pull requests earn milestones, and this one is by mallory, not by the contractor, dev-bob." in en
    assert "@dev-bob" not in en  # the contractor is named, not pinged

    merge(harness, pr)
    en = english(bot_comment(harness, pr))
    assert "### Merged: no payment" in en and "this one is by mallory" in en
    assert not payments(harness)
    assert milestone_states(harness, number) == ["open", "open"]


def test_a_pull_request_before_the_award_pays_nothing(harness, sim):
    number = open_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    assert "the opportunity has no awarded contract (it is open for proposals)." in english(bot_comment(harness, pr))
    assert "l'occasion n'a pas de contrat attribué (elle est ouverte aux propositions)." in french(bot_comment(harness, pr))
    merge(harness, pr)
    assert not payments(harness)


def test_a_pull_request_naming_two_opportunities_pays_nothing(harness, sim):
    number = awarded_opportunity(harness)
    other = open_opportunity(harness, title="Translate the docs")
    pr = open_pull_request(harness, f"Closes #{number}\nCloses #{other}")
    en = english(bot_comment(harness, pr))
    assert f"It names several opportunities ({REPO}#{number}, {REPO}#{other}). A pull request earns a milestone of one opportunity: name only that one." in en
    merge(harness, pr)
    assert "and was merged without a payment" in english(bot_comment(harness, pr))
    assert not payments(harness)


def test_a_merge_is_paid_even_when_the_configuration_has_become_invalid(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.repositories[REPO]["files"][".github/devex.yml"] = "payment_terms_days: soon\n"
    merge(harness, pr)
    [payment] = payments(harness)
    assert payment.due_at == payment.merged_at + timedelta(days=30)
    assert "The repository's `.github/devex.yml` is invalid, so the default payment terms (30 days) were used." in english(bot_comment(harness, pr))


def test_pull_requests_that_name_no_opportunity_get_no_comment(harness, sim):
    open_opportunity(harness)
    plain = open_pull_request(harness, "Fixes a typo. See #1.")
    issue = sim.open_issue(REPO, "A plain bug", "It breaks.", MAINTAINER)["number"]
    other = open_pull_request(harness, f"Fixes #{issue}")
    merge(harness, plain)
    merge(harness, other)
    assert harness.bot_comments(plain) == [] and harness.bot_comments(other) == []
    with Session(harness.engine) as session:
        assert session.exec(select(PullRequestLink)).all() == []


def test_edits_keep_one_comment_that_follows_the_description(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, "Caches the dependencies.")
    assert harness.bot_comments(pr) == []

    harness.act(sim.human_edit_issue(REPO, pr, CONTRACTOR, f"Caches the dependencies.\n\nCloses #{number}\nMilestone: 7"))
    harness.run()
    en = english(bot_comment(harness, pr))
    assert "`Milestone: 7` names no milestone of the contract. Its milestones are 1, **Design**; 2, **Build**." in en

    harness.act(sim.human_edit_issue(REPO, pr, CONTRACTOR, f"Closes #{number}\nMilestone: 2"))
    harness.run()
    assert "pays milestone 2" in bot_comment(harness, pr)

    harness.act(sim.human_edit_issue(REPO, pr, CONTRACTOR, "Caches the dependencies."))
    harness.run()
    assert "It no longer names an opportunity, so merging it pays nothing." in english(bot_comment(harness, pr))
    assert comment_posts(sim, pr) == 1
    merge(harness, pr)
    assert not payments(harness)


def test_two_events_before_the_first_comment_is_sent_still_make_one_comment(harness, sim):
    number = awarded_opportunity(harness)
    harness.act(sim.human_open_pull_request(REPO, "Cache", f"Closes #{number}\nMilestone: 9", CONTRACTOR))
    pr = max(sim.issues[REPO])
    harness.act(sim.human_edit_issue(REPO, pr, CONTRACTOR, f"Closes #{number}"))
    harness.runtime.worker.drain()  # both handled before anything is sent
    harness.run()
    assert comment_posts(sim, pr) == 1
    assert "pays milestone 1" in bot_comment(harness, pr)


def test_closed_without_merge_pays_nothing_and_reopening_restores_the_offer(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    harness.act(sim.human_close_pull_request(REPO, pr, CONTRACTOR))
    harness.run()
    en = english(bot_comment(harness, pr))
    assert "### Closed without merging: nothing is payable" in en
    assert "Reopen it and have it merged to earn milestone 1, **Design**." in en
    assert "### Fermée sans fusion : rien n'est à payer" in french(bot_comment(harness, pr))
    assert not payments(harness)

    harness.act(sim.human_reopen_issue(REPO, pr, CONTRACTOR))
    harness.run()
    assert "pays milestone 1" in bot_comment(harness, pr)
    assert comment_posts(sim, pr) == 1


def test_the_same_merge_delivered_again_pays_once_and_a_paid_milestone_is_not_paid_twice(harness, sim):
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.add_review(REPO, pr, MAINTAINER)

    event, data = sim.human_merge_pull_request(REPO, pr, MAINTAINER)
    for _ in range(3):
        assert harness.deliver(event, copy.deepcopy(data)).status_code == 202
    harness.run()
    [payment] = payments(harness)
    assert payment.amount == Decimal("4263.16")
    with Session(harness.engine) as session:
        assert len([e for e in session.exec(select(AuditEvent)).all() if e.kind == "payment_recorded"]) == 1

    again = open_pull_request(harness, f"Closes #{number}\nMilestone: 1", title="Design, again")
    assert "milestone 1, **Design** is already accepted and has its payment. To earn another one, write a line `Milestone: N` in the description." in english(bot_comment(harness, again))
    merge(harness, again)
    assert "### Merged: no payment" in english(bot_comment(harness, again))
    assert len(payments(harness)) == 1


# ---------------------------------------------------------------- /paid, overdue, /terminate


def test_paid_by_a_contract_officer_only(harness, sim):
    number = awarded_opportunity(harness)
    merge(harness, open_pull_request(harness, f"Closes #{number}"))

    harness.comment(number, MAINTAINER, "/paid 1 EFT-2026-0042")
    reply = last_reply(harness, number)
    assert reply.startswith("@pm-alice") and "**`/paid` was not carried out.** Only contract officers" in reply
    harness.comment(number, OFFICER, "/paid 1")
    assert "Write `/paid PAYMENT_ID REFERENCE`" in last_reply(harness, number)
    harness.comment(number, OFFICER, "/paid 7 EFT-2026-0042")
    assert "This opportunity has no payment #7. Its payments are #1." in english(last_reply(harness, number))
    assert payments(harness)[0].status == "payable"

    harness.comment(number, OFFICER, "/payé #1 EFT-2026-0042 @everyone")
    reply = last_reply(harness, number)
    assert "**Payment #1 recorded as paid:** $4,263.16 to dev-bob for milestone 1, **Design**; reference EFT-2026-0042 @\u200beveryone." in english(reply)
    assert "**Paiement no 1 consigné comme versé :**" in french(reply)
    [payment] = payments(harness)
    assert (payment.status, payment.paid_by, payment.reference) == ("paid", OFFICER, "EFT-2026-0042 @everyone")
    assert payment.paid_at == harness.clock()
    assert "| 1 | Design | $4,263.16 | accepted (payment #1, paid) |" in summary(harness, number)

    harness.comment(number, OFFICER, "/paid 1 EFT-2026-0043")
    assert "Payment #1 was already recorded as paid on 2026-11-02 15:00 UTC, reference EFT-2026-0042" in english(last_reply(harness, number))
    assert payments(harness)[0].reference == "EFT-2026-0042 @everyone"


def test_an_overdue_payment_is_said_once_on_the_opportunity_and_a_paid_one_never(harness, sim, clock):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "contract_officers: [fin-fay, '@octo-org/finance']\npayment_terms_days: 10\n"
    sim.add_team_member("octo-org", "finance", "fin-fred")
    number = awarded_opportunity(harness)
    merge(harness, open_pull_request(harness, f"Closes #{number}"))
    merge(harness, open_pull_request(harness, f"Closes #{number}", title="Build"))
    harness.comment(number, "fin-fred", "/paid 2 EFT-9")
    assert [p.status for p in payments(harness)] == ["payable", "paid"]
    assert [p.due_at for p in payments(harness)] == [clock() + timedelta(days=10)] * 2
    before = len(harness.bot_comments(number))

    clock.advance(days=12, hours=1)
    harness.run()
    comments = harness.bot_comments(number)
    assert len(comments) == before + 1
    notice = comments[-1]
    en = english(notice)
    assert en.startswith("### Payment #1 is overdue")
    assert "@fin-fay @octo-org/finance : payment #1" not in en  # English has no space before the colon
    assert "@fin-fay @octo-org/finance: payment #1 of **$4,263.16** to @dev-bob, for milestone 1, **Design**, was due 2026-11-12 15:00 UTC" in en
    assert "and is **2 days late**." in en
    assert "accuse **2 jours de retard**" in french(notice)
    assert "payment #1, overdue" in summary(harness, number)
    assert payments(harness)[0].overdue_notified_at is not None

    clock.advance(days=5)
    harness.run()
    assert len(harness.bot_comments(number)) == before + 1

    harness.comment(number, "fin-fay", "/paid 1 EFT-10")
    assert "payment #1, paid" in summary(harness, number)


def test_terminate_voids_what_is_not_accepted_and_keeps_what_is_owed(harness, sim):
    number = awarded_opportunity(harness)
    merge(harness, open_pull_request(harness, f"Closes #{number}"))

    harness.comment(number, MAINTAINER, "/terminate Work stopped")
    assert "Only contract officers" in last_reply(harness, number)
    harness.comment(number, OFFICER, "/terminate")
    assert "Give a reason after the command" in last_reply(harness, number)

    harness.comment(number, OFFICER, "/résilier The department's needs changed")
    reply = last_reply(harness, number)
    assert "**Contract terminated.** 1 milestone not yet accepted is void; 1 payment for accepted work remains due. The contractor was told." in english(reply)
    announcement = harness.bot_comments(number)[-2]
    en = english(announcement)
    assert "### Contract terminated" in en
    assert "@admin-olga terminated the contract with @dev-bob: The department's needs changed" in en
    assert "Milestones not yet accepted are void: 2, **Build**." in en
    assert "Work already accepted is still owed: payment #1 ($4,263.16)." in en
    assert "### Contrat résilié" in french(announcement)
    assert opportunity_state(harness, number) == "terminated"
    assert "devex:terminated" in harness.labels(number) and "devex:awarded" not in harness.labels(number)
    assert milestone_states(harness, number) == ["accepted", "void"]
    assert [p.status for p in payments(harness)] == ["payable"]

    pr = open_pull_request(harness, f"Closes #{number}", title="Build anyway")
    assert "merging it pays nothing: the contract was terminated." in english(bot_comment(harness, pr))
    merge(harness, pr)
    assert len(payments(harness)) == 1

    harness.comment(number, OFFICER, "/terminate again")
    assert "Only an awarded contract can be terminated, and this opportunity is terminated." in english(last_reply(harness, number))
    harness.comment(number, OFFICER, "/paid 1 EFT-77")
    assert payments(harness)[0].status == "paid"


def test_terminate_before_the_award_points_to_cancel(harness, sim):
    number = open_opportunity(harness)
    harness.comment(number, OFFICER, "/terminate no longer needed")
    assert "this opportunity is open for proposals. Before an award is approved, an issuer ends the opportunity with `/cancel REASON`." in english(
        last_reply(harness, number)
    )


# ---------------------------------------------------------------- reverts


def test_a_merged_revert_of_a_paid_milestone_is_flagged_to_the_contract_officers_once(harness, sim):
    sim.repositories[REPO]["files"][".github/devex.yml"] = "contract_officers: [fin-fay]\n"
    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    merge(harness, pr)
    harness.comment(number, "fin-fay", "/paid 1 EFT-1")
    before = len(harness.bot_comments(number))

    revert = open_pull_request(harness, f"Reverts {REPO}#{pr}", login=MAINTAINER, title='Revert "Cache the dependencies"')
    assert harness.bot_comments(revert) == []
    sim.add_review(REPO, revert, MAINTAINER)

    event, data = sim.human_merge_pull_request(REPO, revert, MAINTAINER)
    harness.deliver(event, copy.deepcopy(data))
    harness.deliver(event, copy.deepcopy(data))
    harness.run()

    comments = harness.bot_comments(number)
    assert len(comments) == before + 1
    en = english(comments[-1])
    assert "### A pull request that earned a payment was reverted" in en
    assert (
        f"@fin-fay: https://github.com/{REPO}/pull/{revert}, merged by pm-alice, reverts https://github.com/{REPO}/pull/{pr}, "
        "which earned milestone 1, **Design**: payment #1 of **$4,263.16** to dev-bob, paid." in en
    )
    assert "Nothing is taken back automatically." in en
    assert "Rien n'est repris automatiquement." in french(comments[-1])
    [payment] = payments(harness)
    assert (payment.status, payment.amount) == ("paid", Decimal("4263.16"))
    assert payment.revert_flagged_at is not None
    assert milestone_states(harness, number) == ["accepted", "open"]


# ---------------------------------------------------------------- the ledger, enforced by the database


def ledger_rows(engine, contract_value: str = "9000.00"):
    """An awarded opportunity with two milestones, written directly: (opportunity_id, [milestone ids])."""
    now = datetime(2026, 11, 2, 15, tzinfo=timezone.utc)
    with Session(engine, expire_on_commit=False) as session:
        opportunity = Opportunity(
            installation_id=77,
            repository=REPO,
            issue_number=1,
            title="Speed up the build",
            html_url=f"https://github.com/{REPO}/issues/1",
            author=MAINTAINER,
            state="awarded",
            value=Decimal("9500.00"),
            contractor=CONTRACTOR,
            contract_value=Decimal(contract_value),
        )
        store.save(session, opportunity)
        milestones = [
            Milestone(opportunity_id=opportunity.id, position=1, name="Design", amount=Decimal("4500.00"), contract_amount=Decimal("4263.16")),
            Milestone(opportunity_id=opportunity.id, position=2, name="Build", amount=Decimal("5000.00"), contract_amount=Decimal("4736.84")),
        ]
        store.save(session, *milestones)
        session.commit()
        return opportunity.id, [m.id for m in milestones], now


def a_payment(opportunity_id: int, milestone_id: int, amount: str, now: datetime, pr: int = 2) -> Payment:
    return Payment(
        opportunity_id=opportunity_id,
        milestone_id=milestone_id,
        contractor=CONTRACTOR,
        amount=Decimal(amount),
        pull_request_url=f"https://github.com/{REPO}/pull/{pr}",
        pull_request_number=pr,
        merged_at=now,
        merged_by=MAINTAINER,
        due_at=now + timedelta(days=30),
    )


def test_a_milestone_has_at_most_one_payment(engine):
    opportunity_id, (design, _build), now = ledger_rows(engine)
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, design, "4263.16", now))
        session.commit()
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, design, "1.00", now, pr=3))
        with pytest.raises(IntegrityError):
            session.commit()


def test_payments_never_add_up_to_more_than_the_contract_value(engine):
    opportunity_id, (design, build), now = ledger_rows(engine)
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, design, "4263.16", now))
        session.commit()
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, build, "4736.85", now, pr=3))  # one cent too many
        with pytest.raises(DBAPIError, match="exceed the contract value"):
            session.commit()
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, build, "4736.84", now, pr=3))  # exactly the value: fine
        session.commit()
        assert session.exec(select(sa.func.sum(Payment.amount))).one() == Decimal("9000.00")


def test_no_payment_without_a_contract_value(engine):
    opportunity_id, (design, _build), now = ledger_rows(engine)
    with Session(engine) as session:
        session.exec(sa.update(Opportunity).where(Opportunity.id == opportunity_id).values(contract_value=None))
        session.add(a_payment(opportunity_id, design, "1.00", now))
        with pytest.raises(DBAPIError, match="exceed the contract value"):
            session.commit()


def test_payments_are_never_deleted_and_their_amount_never_changes(engine):
    opportunity_id, (design, _build), now = ledger_rows(engine)
    with Session(engine) as session:
        session.add(a_payment(opportunity_id, design, "4263.16", now))
        session.commit()
    with engine.connect() as conn:
        with pytest.raises(DBAPIError, match="never deleted"):
            conn.execute(sa.text("DELETE FROM payments"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="never changes"):
            conn.execute(sa.text("UPDATE payments SET amount = 1.00"))
        conn.rollback()
        # What finance records does change.
        conn.execute(sa.text("UPDATE payments SET status = 'paid', reference = 'EFT-1'"))
        conn.commit()
    with Session(engine) as session:
        assert [(p.amount, p.status) for p in session.exec(select(Payment)).all()] == [(Decimal("4263.16"), "paid")]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_concurrent_payments_for_one_contract_cannot_both_pass_the_cap(engine):
    """Two transactions at once, one per milestone, together over the value: the
    trigger locks the opportunity row, so the second sees the first's total."""
    opportunity_id, (design, build), now = ledger_rows(engine, contract_value="5000.00")
    first = Session(engine)
    first.add(a_payment(opportunity_id, design, "4263.16", now))
    first.flush()  # inserted, the opportunity row locked, not committed
    outcome = {}

    def second():
        with Session(engine) as session:
            session.add(a_payment(opportunity_id, build, "800.00", now, pr=3))  # 4,263.16 + 800.00 > 5,000.00
            try:
                session.commit()
                outcome["second"] = "committed"
            except DBAPIError as error:
                outcome["second"] = str(error.orig)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # waiting on the first transaction's lock
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert "exceed the contract value" in outcome["second"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_same_merge_delivered_ten_times_at_once_to_two_workers_makes_one_payment(harness, sim):
    from bot.runtime import ROUTER
    from bot.pipeline.worker import Worker
    from storage import inbox

    number = awarded_opportunity(harness)
    pr = open_pull_request(harness, f"Closes #{number}")
    sim.add_review(REPO, pr, MAINTAINER)

    event, data = sim.human_merge_pull_request(REPO, pr, MAINTAINER)
    for _ in range(10):
        assert harness.deliver(event, copy.deepcopy(data)).status_code == 202  # ten delivery ids

    workers = [Worker(harness.engine, harness.settings, ROUTER, harness.github.call, clock=harness.clock, name=f"w{i}", configs=harness.runtime.worker.configs) for i in range(2)]
    handled = [0, 0]
    errors = []

    def work(i: int) -> None:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if workers[i].run_once():
                    handled[i] += 1
                    continue
                with Session(harness.engine) as session:
                    if inbox.pending_count(session) == 0:
                        return
                time.sleep(0.005)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(handled) == 10
    with Session(harness.engine) as session:
        assert inbox.counts(session).get("failed", 0) == 0
    [payment] = payments(harness)
    assert payment.amount == Decimal("4263.16")
    harness.run()
    assert "payment #1 recorded" in bot_comment(harness, pr)
    assert comment_posts(sim, pr) == 1


# ---------------------------------------------------------------- the payments export


def test_the_payments_export_as_csv_and_json(harness, sim, clock, monkeypatch, capsys, db_url):
    from bot.cli import main

    number = awarded_opportunity(harness)
    first = open_pull_request(harness, f"Closes #{number}")
    merge(harness, first)
    merge(harness, open_pull_request(harness, f"Closes #{number}", title="Build"))
    harness.comment(number, OFFICER, "/paid 1 EFT-2026-0042")

    monkeypatch.setenv("DATABASE_URL", db_url)
    # Exported at the harness's now, the day of the merges: the second is payable, not yet
    # due (with the real clock it turned overdue 30 days after the harness's fixed date).
    monkeypatch.setattr("bot.stages.exports.utcnow", clock)
    assert main(["export", "payments", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [
        "payment_id",
        "opportunity_url",
        "contractor",
        "milestone",
        "amount",
        "tax_basis",
        "pull_request_url",
        "merged_at",
        "merged_by",
        "due",
        "status",
        "paid_at",
        "reference",
        "certified_by",
        "certified_at",
        "paid_by",
        "commitment_reference",
        "accepted_by",
        "acceptance_reason",
    ]
    assert rows[0] == {
        "payment_id": "1",
        "opportunity_url": f"https://github.com/{REPO}/issues/{number}",
        "contractor": "dev-bob",
        "milestone": "Design",
        "amount": "4263.16",
        "tax_basis": "taxes included",
        "pull_request_url": f"https://github.com/{REPO}/pull/{first}",
        "merged_at": "2026-11-02T15:00:00Z",
        "merged_by": "pm-alice",
        "due": "2026-12-02T15:00:00Z",
        "status": "paid",
        "paid_at": "2026-11-02T15:00:00Z",
        "reference": "EFT-2026-0042",
        "certified_by": "",
        "certified_at": "",
        "paid_by": "admin-olga",
        "commitment_reference": "",
        "accepted_by": "",
        "acceptance_reason": "",
    }
    assert (rows[1]["milestone"], rows[1]["amount"], rows[1]["status"], rows[1]["reference"]) == ("Build", "4736.84", "payable", "")

    assert main(["export", "payments", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["payment_id"], r["amount"], r["status"]) for r in data] == [(1, "4263.16", "paid"), (2, "4736.84", "payable")]
    assert sum(Decimal(r["amount"]) for r in data) == Decimal("9000.00")
