"""The bidder's desk end to end: a person signed in with GitHub registers, bids in
confidence, replaces and withdraws a proposal, and reads their own desk; the forms
are applied by the worker in the issue's order, with the same rules, refusals and
versions as `/bid`; the amount and the text never reach GitHub; the receipt is on
the desk and on the issue, without the bidder's name, amount or text; every form
needs the session's token and is rate-limited per person; no one reads another
person's desk. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re

from sqlmodel import Session, select

from storage.tables import Delivery, DeskRequest, ProposalVersion
from tests.conftest import REPO
from tests.desk_flows import Browser, desk  # noqa: F401
from tests.flows import SHA256, bid, english, french, open_opportunity, register

SECRET_TEXT = "Zanzibar plan: I will rewrite the cache layer with a content-addressed store."
SECRET_AMOUNT = "7,654.32"


def shown(response) -> str:
    return html.unescape(response.text)


def ref(number: int) -> str:
    return f"{REPO}#{number}"


def everything_sent_to_github(sim) -> str:
    return "\n".join(json.dumps([r.method, r.path, r.json, r.query], default=str) for r in sim.requests)


def signed_in(harness, login: str) -> Browser:
    browser = Browser(harness)
    browser.sign_in(login)
    return browser


def test_a_person_registers_and_bids_in_confidence_from_the_desk(desk, sim, engine):
    number = open_opportunity(desk)
    bob = signed_in(desk, "bob")
    page = bob.send("register", opportunity=ref(number), attest="yes")
    assert "You are registered, with the terms version" in shown(page)
    assert "Registration" in shown(page) and "You registered on" in shown(page)

    page = bob.send("bid", opportunity=ref(number), amount=SECRET_AMOUNT, proposal=SECRET_TEXT)
    text = shown(page)
    match = re.search(r"Receipt (R-\S+), at (\S+ \S+ UTC), SHA-256 ([0-9a-f]{64})", text)
    assert match, text
    receipt, at, digest = match.groups()
    assert at == "2026-11-02 15:00:00 UTC"
    # The desk shows the proposal's version with its amount, time, receipt and hash, and its text.
    assert "$7,654.32" in text and SECRET_TEXT in text and digest in text and receipt in text

    # The issue shows the same receipt, bilingual, without the bidder's name, amount or text.
    posted = desk.bot_comments(number)[-1]
    assert receipt in english(posted) and receipt in french(posted) and digest in posted
    assert "A confidential proposal was received" in english(posted) and "Une proposition confidentielle a été reçue" in french(posted)
    assert "bob" not in posted and "7,654" not in posted and "7 654" not in posted and "Zanzibar" not in posted
    # Nothing of the amount or the text reached GitHub, in any request the app sent.
    sent = everything_sent_to_github(sim)
    for secret in ("Zanzibar", "7654.32", "7,654.32", "7 654,32", "content-addressed"):
        assert secret not in sent
    # Recorded like a /bid: one version, its hash over the amount and the text.
    with Session(engine) as session:
        version = session.exec(select(ProposalVersion)).one()
        assert (version.receipt_number, version.sha256, version.comment_id) == (receipt, digest, None)
        assert version.delivery_id.startswith("devex:desk:")


def test_a_desk_bid_replaces_the_previous_proposal_and_every_version_is_kept_then_withdrawn(desk, sim):
    number = open_opportunity(desk)
    register(desk, number, "bob")
    bid(desk, number, "bob", "9,000.00", "A comment bid first.")  # a comment bid, then desk ones
    bob = signed_in(desk, "bob")
    desk.clock.advance(hours=1)
    bob.send("bid", opportunity=ref(number), amount="8,500", proposal="Second thoughts.")
    page = shown(bob.desk())
    assert page.count("<tr><th scope=\"row\">") == 2  # two versions in the table
    assert "$9,000.00" in page and "$8,500.00" in page and "A comment bid first." in page and "Second thoughts." in page
    assert "replacing an earlier one of the same bidder" in desk.bot_comments(number)[-1]

    page = shown(bob.send("withdraw", opportunity=ref(number)))
    assert "Your proposal was withdrawn (receipt" in page
    assert "You withdrew this proposal on" in page
    assert "withdrawn by its bidder" in english(desk.bot_comments(number)[-1]) and "bob" not in desk.bot_comments(number)[-1]
    again = shown(bob.send("withdraw", opportunity=ref(number)))
    assert "You have no proposal standing on this opportunity." in again and "Nothing was recorded." in again


def test_the_desk_keeps_the_rules_and_refusals_of_bid(desk, sim):
    number = open_opportunity(desk)  # value 9,500.00, deadline 2026-11-20 19:00 UTC
    bob = signed_in(desk, "bob")
    refused = shown(bob.send("bid", opportunity=ref(number), amount="500", proposal="Plan."))
    assert "You have not registered yet" in refused and "Nothing was recorded." in refused
    bob.send("register", opportunity=ref(number), attest="yes")
    assert "more than the opportunity's value, $9,500.00" in shown(bob.send("bid", opportunity=ref(number), amount="9,500.01", proposal="Plan."))
    assert "must be more than $0.00" in shown(bob.send("bid", opportunity=ref(number), amount="0", proposal="Plan."))
    page = bob.send("bid", opportunity=ref(number), amount="lots", proposal="Plan.")
    assert page.status_code == 400 and "The amount could not be read" in shown(page) and 'value="lots"' in page.text  # the form comes back filled
    assert "Write your proposal" in shown(bob.send("bid", opportunity=ref(number), amount="100", proposal="  "))
    assert "No opportunity is octo-org/procurement#999" in shown(bob.send("bid", opportunity=ref(999), amount="100", proposal="Plan."))
    assert "Write it as OWNER/REPO#NUMBER" in shown(bob.send("bid", opportunity="number five", amount="100", proposal="Plan."))
    assert "Tick the box" in shown(bob.send("register", opportunity=ref(number)))
    # Its author may not bid on it: she cannot even attest that she has no conflict.
    alice = signed_in(desk, "pm-alice")
    assert "You have a conflict of interest on this opportunity" in shown(alice.send("register", opportunity=ref(number), attest="yes"))
    assert "You have not registered yet" in shown(alice.send("bid", opportunity=ref(number), amount="100", proposal="Mine."))
    # After the deadline: refused, by the time the desk received the form.
    desk.clock.now = desk.clock.now.replace(month=11, day=20, hour=19, minute=0)
    assert bob.desk().status_code == 302  # a session lasts 8 hours
    bob = signed_in(desk, "bob")
    late = shown(bob.send("bid", opportunity=ref(number), amount="100", proposal="Late."))
    assert "Bidding closed on" in late
    assert not [b for b in desk.bot_comments(number) if "confidential proposal" in b]
    assert "Late." not in everything_sent_to_github(sim)


def test_a_desk_form_is_applied_in_order_with_the_issues_other_events(desk, sim, engine):
    number = open_opportunity(desk)
    register(desk, number, "bob")
    bob = signed_in(desk, "bob")
    # The form is stored, not applied, while a /cancel of the same issue waits before it.
    desk.act(sim.human_comment(REPO, number, "pm-alice", "/cancel The budget was withdrawn."))
    response = bob.send("bid", opportunity=ref(number), amount="100", proposal="Plan.", run=False)
    assert response.status_code == 200 and "being recorded" in shown(response)
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.event == "devex.desk")).one()
        assert delivery.ordering_key == ref(number)
    desk.run()
    assert "This opportunity was cancelled." in shown(bob.get(bob.last.url.raw_path.decode()))


def test_every_form_needs_the_sessions_token(desk, engine):
    number = open_opportunity(desk)
    bob, carol = signed_in(desk, "bob"), signed_in(desk, "carol")
    for form in ("register", "bid", "withdraw"):
        fields = {"opportunity": ref(number), "amount": "100", "proposal": "Plan.", "attest": "yes"}
        assert bob.post(f"/en/desk/{form}", fields).status_code == 403
        assert bob.post(f"/fr/desk/{form}", dict(fields, csrf=carol.csrf("fr"))).status_code == 403  # another session's token
    anonymous = Browser(desk)
    response = anonymous.post("/en/desk/bid", {"opportunity": ref(number), "csrf": bob.csrf()})
    assert response.status_code == 303 and response.headers["location"].startswith("/login?")
    with Session(engine) as session:
        assert session.exec(select(DeskRequest)).all() == []


def test_forms_are_rate_limited_per_person(desk):
    number = open_opportunity(desk)
    bob, carol = signed_in(desk, "bob"), signed_in(desk, "carol")
    token = bob.csrf()
    for _ in range(10):
        assert bob.post("/en/desk/withdraw", {"opportunity": ref(number), "csrf": token}).status_code == 303
    slowed = bob.post("/en/desk/withdraw", {"opportunity": ref(number), "csrf": token})
    assert slowed.status_code == 429 and "You sent 10 forms in the last minute" in shown(slowed)
    assert carol.post("/en/desk/withdraw", {"opportunity": ref(number), "csrf": carol.csrf()}).status_code == 303
    desk.clock.advance(minutes=1, seconds=1)
    assert bob.post("/en/desk/withdraw", {"opportunity": ref(number), "csrf": token}).status_code == 303


def test_no_one_reads_another_persons_desk(desk, sim):
    number = open_opportunity(desk)
    bob, carol = signed_in(desk, "bob"), signed_in(desk, "carol")
    for person in (bob, carol):
        person.send("register", opportunity=ref(number), attest="yes")
    bob.send("bid", opportunity=ref(number), amount="8,111.00", proposal="Bob's secret plan.")
    bob_request = bob.last.url.params["request"]
    carol.send("bid", opportunity=ref(number), amount="7,222.00", proposal="Carol's secret plan.")
    carol_request = carol.last.url.params["request"]
    bobs = {"Bob's secret plan.", "$8,111.00", "8\xa0111,00\xa0$"}
    carols = {"Carol's secret plan.", "$7,222.00", "7\xa0222,00\xa0$"}
    # Every URL each of them was shown, opened by the other.
    for me, other_request, theirs in ((carol, bob_request, bobs), (bob, carol_request, carols)):
        for lang in ("en", "fr"):
            for path in (f"/{lang}/desk", f"/{lang}/desk?request={other_request}", f"/{lang}/desk?request={other_request}#outcome"):
                page = shown(me.get(path))
                assert not any(secret in page for secret in theirs), path
                assert "Receipt R-" not in page.split("Your proposals")[0] if lang == "en" else True
    # Withdrawing from the desk only ever withdraws one's own proposal.
    dave = signed_in(desk, "dave")
    assert "You have no proposal standing" in shown(dave.send("withdraw", opportunity=ref(number)))
    assert "Your proposal stands." in shown(bob.desk())


def test_the_desk_in_french(desk):
    number = open_opportunity(desk)
    bob = signed_in(desk, "bob")
    page = bob.desk("fr")
    assert '<html lang="fr">' in page.text and 'href="/en/desk"' in page.text and "Votre bureau" in shown(page)
    bob.send("register", "fr", opportunity=ref(number), attest="yes")
    page = shown(bob.send("bid", "fr", opportunity=ref(number), amount="4 500,00 $", proposal="Mon plan."))
    assert "Votre proposition a été reçue. Accusé de réception R-" in page and "4\xa0500,00\xa0$" in page


def test_the_summary_and_a_comment_bids_receipt_say_a_comment_is_not_confidential_and_link_to_the_desk(desk):
    number = open_opportunity(desk)
    summary = desk.bot_comments(number)[0]
    link = f"https://desk.test/en/desk?opportunity={REPO}%23{number}"
    assert "A comment is not confidential" in english(summary) and link in english(summary)
    assert "Un commentaire n'est pas confidentiel" in french(summary) and link.replace("/en/", "/fr/") in french(summary)
    register(desk, number, "bob")
    bid(desk, number, "bob", "1,000.00")
    receipt = desk.bot_comments(number)[-1]
    assert "A comment is not confidential" in english(receipt) and link in english(receipt)
    assert "n'est pas confidentiel" in french(receipt) and link.replace("/en/", "/fr/") in french(receipt)
    assert SHA256.search(receipt)


def test_desk_pages_are_never_cached_framed_or_scripted(desk):
    bob = signed_in(desk, "bob")
    for response in (bob.desk(), bob.desk("fr"), Browser(desk).get("/auth/callback?code=x&state=y")):
        headers = response.headers
        assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"] and "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"] and "<script" not in response.text


def test_a_form_for_an_opportunity_whose_app_was_uninstalled_is_refused_at_once(desk, engine):
    from storage.tables import Installation

    number = open_opportunity(desk)
    bob = signed_in(desk, "bob")
    with Session(engine) as session:
        for row in session.exec(select(Installation)).all():
            row.status = "deleted"
            session.add(row)
        session.commit()
    page = bob.send("register", opportunity=ref(number), attest="yes")
    assert page.status_code == 400 and "no longer installed" in shown(page)


def test_a_login_taken_over_after_a_rename_sees_nothing_of_its_former_owner(desk, sim, engine):
    from storage.tables import Registration

    number = open_opportunity(desk)
    register(desk, number, "bob")
    bid(desk, number, "bob", "1,234.00", "The former bob's plan.")
    with Session(engine) as session:  # the registration was made by another account than the one now called bob
        row = session.exec(select(Registration)).one()
        row.user_id = (row.user_id or 0) + 999
        session.add(row)
        session.commit()
    page = shown(signed_in(desk, "bob").desk())
    assert "The former bob's plan." not in page and "$1,234.00" not in page and "You have not registered yet" in page


def test_a_form_meets_an_invalid_configuration_with_a_plain_refusal(desk, sim):
    number = open_opportunity(desk)
    bob = signed_in(desk, "bob")
    sim.repositories[REPO]["files"][".github/devex.yml"] = "value_cap: [not, a, number\n"
    page = shown(bob.send("register", opportunity=ref(number), attest="yes"))
    assert "configuration file of this opportunity's repository has a problem" in page and "Nothing was recorded." in page
