"""Alerts, from the board's form to the inbox: subscribe, confirm, unsubscribe, and the abuse guards.

End to end: the form on the board's page (with its cookie and cross-site token),
the alert routes, opportunities opened through signed webhooks, the mailer, and a
real SMTP server (aiosmtpd); on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from storage.tables import AlertSubscription, MailMessage
from tests.alerts_support import BOARD, Browser, alert_settings, alerts, mail_server, with_alerts  # noqa: F401 (fixtures)
from tests.flows import open_opportunity

ANA = "ana.dev@example.org"


def deliver(harness) -> None:
    harness.run()
    harness.runtime.mailer.drain()


def confirm(harness, address: str) -> None:
    [message] = [m for m in harness.mail.to(address) if "Confirm" in m.message["Subject"] or "Confirmez" in m.message["Subject"]][-1:]
    response = harness.browser.get(message.link("/alerts/confirm"))
    assert response.status_code == 200, response.text


def test_subscribing_sends_one_confirmation_and_nothing_else_until_it_is_followed(alerts, mail_server):
    alerts.mail = mail_server.inbox
    page = alerts.browser.subscribe(ANA, skill="Python", max="9,999")
    assert page.status_code == 200
    assert "Check your email" in page.text
    assert 'skill “Python”, value of at most $9,999.00' in page.text
    assert ANA not in page.text

    deliver(alerts)
    [confirmation] = mail_server.inbox.to(ANA)
    message = confirmation.message
    assert message["Subject"] == "Confirm your email alert of new opportunities"
    assert message["From"] == "Devex alerts <alerts@board.test>" and confirmation.mail_from == "alerts@board.test"
    assert message.is_multipart() and {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    assert "skill “Python”, value of at most $9,999.00" in confirmation.text
    assert message["List-Unsubscribe"].startswith(f"<{BOARD}/alerts/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{BOARD}/alerts/confirm?token=' in confirmation.html

    # An opportunity that matches opens before the link is followed: nothing is sent.
    open_opportunity(alerts, title="Speed up the build")
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 1

    confirmed = alerts.browser.get(confirmation.link("/alerts/confirm"))
    assert confirmed.status_code == 200
    assert "Your alert is on" in confirmed.text
    assert "one message in English for each newly opened opportunity that matches: <strong>skill “Python”, value of at most $9,999.00</strong>" in confirmed.text
    assert ANA not in confirmed.text
    # Following it twice changes nothing and says the same.
    assert "Your alert is on" in alerts.browser.get(confirmation.link("/alerts/confirm")).text

    open_opportunity(alerts, title="Cache the dependencies", value="4,000.00", milestones=None, skills="Python, Docker")
    deliver(alerts)
    [_, alert] = mail_server.inbox.to(ANA)
    assert alert.message["Subject"] == "New opportunity: Cache the dependencies ($4,000.00)"
    text = alert.text
    assert "Value: $4,000.00 CAD, taxes included" in text
    assert "Proposal deadline: 2026-11-20 19:00 UTC (2026-11-20 14:00 EST, America/Toronto)" in text
    assert "Skills: Python, Docker" in text
    assert f"Read it and bid: {BOARD}/en/opportunities/octo-org/procurement/" in text
    assert "Unsubscribe in one click: " + BOARD + "/alerts/unsubscribe?token=" in text
    # The headers exactly as they travel (RFC 8058): the URL in angle brackets on one line.
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in alert.raw
    assert f"\r\nList-Unsubscribe: <{BOARD}{alert.link('/alerts/unsubscribe')}>\r\n".encode() in alert.raw
    assert "<th scope=\"row\"" in alert.html and "Cache the dependencies" in alert.html

    # Later rounds and redeliveries send nothing more.
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 2


def test_a_french_subscription_gets_french_messages_and_pages(alerts, mail_server):
    alerts.mail = mail_server.inbox
    page = alerts.browser.subscribe(ANA, lang="fr", min="5 000")
    assert "Consultez vos courriels" in page.text and 'lang="fr"' in page.text
    assert "valeur d'au moins 5\u00a0000,00\u00a0$" in page.text.replace("&#39;", "'")
    deliver(alerts)
    [confirmation] = mail_server.inbox.to(ANA)
    assert confirmation.message["Subject"] == "Confirmez votre alerte courriel de nouvelles occasions"
    assert confirmation.message["Content-Language"] == "fr"
    confirmed = alerts.browser.get(confirmation.link("/alerts/confirm"))
    assert "Votre alerte est active" in confirmed.text and "en français" in confirmed.text

    open_opportunity(alerts)
    deliver(alerts)
    alert = mail_server.inbox.to(ANA)[-1]
    assert alert.message["Subject"] == "Nouvelle occasion : Speed up the build (9\u00a0500,00\u00a0$)"
    assert "Valeur : 9\u00a0500,00\u00a0$ CAD, taxes comprises" in alert.text
    assert "2026-11-20 19 h 00 UTC (2026-11-20 14 h 00 EST, America/Toronto)" in alert.text
    assert f"{BOARD}/fr/opportunities/octo-org/procurement/" in alert.text


def test_an_opportunity_that_does_not_match_sends_nothing(alerts, mail_server):
    alerts.mail = mail_server.inbox
    for address, search in [("rust@example.org", {"skill": "Rust"}), ("big@example.org", {"min": "9,600"}), ("other@example.org", {"org": "another-org"})]:
        alerts.browser.subscribe(address, **search)
        deliver(alerts)
        confirm(alerts, address)
    alerts.browser.subscribe("match@example.org", org="OCTO-ORG", skill="github actions")
    deliver(alerts)
    confirm(alerts, "match@example.org")

    open_opportunity(alerts)  # 9,500.00, "Python, GitHub Actions", octo-org
    deliver(alerts)
    for address in ("rust@example.org", "big@example.org", "other@example.org"):
        assert len(alerts.mail.to(address)) == 1, address  # the confirmation only
    assert len(alerts.mail.to("match@example.org")) == 2


def test_unsubscribing_in_one_click_stops_every_message_and_erases_the_address(alerts, mail_server, engine):
    alerts.mail = mail_server.inbox
    alerts.browser.subscribe(ANA)
    deliver(alerts)
    confirm(alerts, ANA)
    open_opportunity(alerts)
    deliver(alerts)
    alert = mail_server.inbox.to(ANA)[-1]
    link = alert.link("/alerts/unsubscribe")

    # Following the link (or a scanner doing so) only shows a button.
    shown = Browser(alerts.app).get(link)
    assert shown.status_code == 200 and "Unsubscribe from email alerts" in shown.text
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer" and shown.headers["cache-control"] == "no-store"
    open_opportunity(alerts, title="Second")
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 3

    # A mail client's one-click POST (RFC 8058): no cookie, no form token, just the link.
    done = Browser(alerts.app).post(link, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert ANA not in done.text
    open_opportunity(alerts, title="Third")
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 3
    with Session(engine) as session:
        rows = session.exec(select(AlertSubscription)).all()
        assert rows and all(r.email is None and r.status == "unsubscribed" for r in rows)
    # Again: no error, the same page.
    assert "You are unsubscribed" in Browser(alerts.app).post(link).text


def test_a_tampered_or_expired_link_says_so_and_changes_nothing(alerts, mail_server, engine, clock):
    alerts.mail = mail_server.inbox
    alerts.browser.subscribe(ANA)
    deliver(alerts)
    link = mail_server.inbox.to(ANA)[0].link("/alerts/confirm")
    unsubscribe = mail_server.inbox.to(ANA)[0].link("/alerts/unsubscribe")

    for bad in (link[:-2] + ("AA" if not link.endswith("AA") else "BB"), link.replace("token=c.", "token=u."), link.replace("token=c.1.", "token=c.2."), "/alerts/confirm?token=nonsense", "/alerts/confirm"):
        page = alerts.browser.get(bad)
        assert page.status_code == 400, bad
        assert "This link is not valid" in page.text and "Nothing was changed" in page.text
    page = alerts.browser.post(unsubscribe[:-3] + "xyz")
    assert page.status_code == 400 and "This link is not valid" in page.text
    with Session(engine) as session:
        assert [r.status for r in session.exec(select(AlertSubscription)).all()] == ["pending"]

    clock.advance(days=7, seconds=1)
    page = alerts.browser.get(link)
    assert page.status_code == 410 and "This link has expired" in page.text
    french = alerts.browser.get(link + "&lang=fr")
    assert "Ce lien a expiré" in french.text and 'lang="fr"' in french.text
    open_opportunity(alerts)
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 1
    with Session(engine) as session:
        [row] = session.exec(select(AlertSubscription)).all()
        assert row.status == "expired" and row.email is None  # the address is forgotten


def test_at_most_one_confirmation_an_hour_however_often_the_form_is_sent(alerts, mail_server, engine, clock):
    alerts.mail = mail_server.inbox
    pages = [alerts.browser.subscribe(address, skill=f"skill {i}").text for i, address in enumerate([ANA, ANA.upper(), ANA, " " + ANA])]
    assert len({p.split("<strong>")[0] for p in pages}) == 1  # the same answer every time
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 1
    with Session(engine) as session:
        assert session.exec(select(AlertSubscription)).all()[0].skill == "skill 0"
        assert len(session.exec(select(MailMessage)).all()) == 1  # the others stored nothing

    clock.advance(minutes=61)
    alerts.browser.subscribe(ANA, skill="Go")
    deliver(alerts)
    [first, second] = mail_server.inbox.to(ANA)
    assert "skill “Go”" in second.text
    # The newer request replaces the older one: its link no longer works.
    assert alerts.browser.get(first.link("/alerts/confirm")).status_code == 410
    assert alerts.browser.get(second.link("/alerts/confirm")).status_code == 200


def test_an_invalid_address_or_search_gets_a_clear_page_and_nothing_is_sent(alerts, mail_server, engine):
    for address in ("not an address", "ana@", "@example.org", "ana@example", "a" * 250 + "@example.org", "ana@exa mple.org", "ana@example.org\nBcc: x@y.z"):
        page = alerts.browser.subscribe(address)
        assert page.status_code == 400, address
        assert "Your alert was not set up" in page.text and "Enter an email address such as name@example.ca." in page.text
        assert 'aria-invalid="true"' in page.text
    page = alerts.browser.subscribe(ANA, min="lots", max="-5")
    assert page.status_code == 400
    assert "The minimum value is not an amount" in page.text and "cannot be below zero" in page.text
    assert 'value="lots"' in page.text and ANA not in page.text  # what was typed stays, but never the address
    page = alerts.browser.subscribe(ANA, lang="fr", min="5000", max="100")
    assert "La valeur minimale dépasse la valeur maximale." in page.text
    deliver(alerts)
    assert mail_server.inbox.received == []
    with Session(engine) as session:
        assert session.exec(select(AlertSubscription)).all() == []


def test_the_form_cannot_be_posted_from_another_site(alerts, mail_server, engine):
    token = alerts.browser.board_token()
    fields = {"email": ANA, "csrf_token": token}
    refused = [
        alerts.browser.post("/en/alerts", data={"email": ANA}),  # no token
        alerts.browser.post("/en/alerts", data={**fields, "csrf_token": "0" * 64}),  # a forged one
        alerts.browser.post("/en/alerts", data=fields, headers={"Origin": "https://evil.example"}),
        Browser(alerts.app).post("/en/alerts", data=fields),  # another browser: not its cookie
    ]
    for page in refused:
        assert page.status_code == 403
        assert "The form had expired or came from another site. Nothing was sent" in page.text
    deliver(alerts)
    assert mail_server.inbox.received == []
    # The page that refused carries a fresh form that works.
    assert alerts.browser.post("/en/alerts", data=fields, headers={"Origin": BOARD}).status_code == 200


def test_the_cookie_is_http_only_lax_and_secure_on_https(alerts):
    response = Browser(alerts.app).get("/en/")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/" in cookie


def test_without_smtp_url_alerts_are_off_and_the_board_says_so(make_harness):
    harness = with_alerts(make_harness(**alert_settings(None)))
    assert harness.runtime.mailer is None
    board = harness.browser.get("/en/")
    assert "Email alerts are not available on this board." in board.text and 'action="/en/alerts"' not in board.text
    assert "Les alertes courriel ne sont pas offertes sur ce tableau." in harness.browser.get("/fr/").text
    page = harness.browser.post("/en/alerts", data={"email": ANA})
    assert page.status_code == 404 and "Email alerts are not available" in page.text
    assert harness.browser.get("/alerts/confirm?token=x").status_code == 404


def test_no_address_reaches_a_page_or_a_log_line(alerts, mail_server, caplog):
    alerts.mail = mail_server.inbox
    caplog.set_level(logging.DEBUG)
    pages = [alerts.browser.subscribe(ANA, skill="Python")]
    deliver(alerts)
    pages.append(alerts.browser.get(mail_server.inbox.to(ANA)[0].link("/alerts/confirm")))
    open_opportunity(alerts)
    deliver(alerts)
    link = mail_server.inbox.to(ANA)[-1].link("/alerts/unsubscribe")
    pages += [alerts.browser.get(link), alerts.browser.post(link), alerts.browser.subscribe(ANA)]
    assert len(mail_server.inbox.to(ANA)) == 2
    for page in pages:
        assert "ana.dev" not in page.text.lower()
    # Every line but the test mail server's own (aiosmtpd logs what it receives).
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert any("alerts:" in line for line in lines)
    assert not [line for line in lines if "ana.dev" in line.lower()]


def test_a_new_search_confirmed_replaces_the_old_one(alerts, mail_server, clock):
    alerts.mail = mail_server.inbox
    alerts.browser.subscribe(ANA, skill="Rust")
    deliver(alerts)
    confirm(alerts, ANA)
    clock.advance(minutes=61)
    alerts.browser.subscribe(ANA, skill="Python")
    deliver(alerts)
    second = mail_server.inbox.to(ANA)[-1]
    assert "Confirming replaces the alert this address already has." in second.text
    open_opportunity(alerts, title="Before confirming")  # Python: the Rust search is still the one
    deliver(alerts)
    assert len(mail_server.inbox.to(ANA)) == 2
    confirm(alerts, ANA)
    open_opportunity(alerts, title="After confirming")
    deliver(alerts)
    assert mail_server.inbox.to(ANA)[-1].message["Subject"] == "New opportunity: After confirming ($9,500.00)"
    assert len(mail_server.inbox.to(ANA)) == 3
