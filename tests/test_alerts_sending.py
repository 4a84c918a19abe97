"""Alerts sent: once per opportunity and address, also when it reopens, when the mail
server is down for a while, across restarts, and with two mailers at once; on SQLite
and PostgreSQL, against a real SMTP server."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from sqlmodel import Session, select

from bot.alerts.mailer import Mailer
from bot.settings import Settings
from storage.db import make_engine
from storage.tables import AlertSubscription, MailMessage
from tests.alerts_support import MailServer, alert_settings, alerts, mail_server, with_alerts  # noqa: F401 (fixtures)
from tests.conftest import INSTALLATION
from tests.flows import form_body, open_opportunity

ANA = "ana.dev@example.org"
# The test server takes credentials without TLS on 127.0.0.1, as the bot allows only there.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def deliver(harness) -> None:
    harness.run()
    harness.runtime.mailer.drain()


def subscribed(harness, inbox, address: str, **search) -> None:
    """Subscribes through the board's form and follows the confirmation link."""
    assert harness.browser.subscribe(address, **search).status_code == 200
    deliver(harness)
    confirmation = [m for m in inbox.to(address) if "/alerts/confirm?" in m.text][-1]
    assert harness.browser.get(confirmation.link("/alerts/confirm")).status_code == 200


def alerts_to(inbox, address: str) -> list[str]:
    return [m.message["Subject"] for m in inbox.to(address) if m.message["Subject"].startswith("New opportunity")]


def outbox(engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(MailMessage).where(MailMessage.kind == "alert")).all()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def test_smtp_down_then_up_loses_nothing_and_sends_nothing_twice(alerts, mail_server, engine, clock, make_harness):
    inbox = mail_server.inbox
    subscribed(alerts, inbox, ANA)
    mail_server.stop()
    open_opportunity(alerts, title="First")
    open_opportunity(alerts, title="Second")
    deliver(alerts)
    deliver(alerts)
    assert outbox(engine) == {"pending": 2}
    with Session(engine) as session:
        rows = session.exec(select(MailMessage).where(MailMessage.kind == "alert")).all()
        assert all(r.attempts == 1 and "ConnectionRefusedError" in r.last_error for r in rows)
        assert all(r.next_attempt_at > clock.now for r in rows)  # backed off, not hammering

    clock.advance(seconds=5)
    alerts.runtime.mailer.drain()  # still down
    assert outbox(engine) == {"pending": 2}
    mail_server.start()
    alerts.runtime.mailer.drain()  # up, but the backoff has not passed: it waits
    assert alerts_to(inbox, ANA) == []
    clock.advance(minutes=5)
    alerts.runtime.mailer.drain()
    assert sorted(alerts_to(inbox, ANA)) == ["New opportunity: First ($9,500.00)", "New opportunity: Second ($9,500.00)"]
    assert outbox(engine) == {"sent": 2}

    # A restart (a new process on the same database) sends nothing again.
    restarted = with_alerts(make_harness(**alert_settings(mail_server)))
    clock.advance(hours=2)
    restarted.run()
    restarted.runtime.mailer.drain()
    assert len(alerts_to(inbox, ANA)) == 2


def test_an_opportunity_reopened_by_extend_reaches_new_subscribers_only(alerts, mail_server, clock):
    inbox = mail_server.inbox
    subscribed(alerts, inbox, ANA)
    number = open_opportunity(alerts, deadline="2026-11-03")
    deliver(alerts)
    assert alerts_to(inbox, ANA) == ["New opportunity: Speed up the build ($9,500.00)"]

    clock.now = datetime(2026, 11, 4, tzinfo=timezone.utc)  # closes with no proposal
    alerts.run()
    assert "devex:evaluation" in alerts.labels(number)
    subscribed(alerts, inbox, "late@example.org", skill="python")
    alerts.comment(number, "pm-alice", "/extend 2026-11-10")
    assert "devex:open" in alerts.labels(number)
    deliver(alerts)
    assert len(alerts_to(inbox, ANA)) == 1  # never twice for one opportunity
    [alert] = [m for m in inbox.to("late@example.org") if "New opportunity" in m.message["Subject"]]
    assert "Proposal deadline: 2026-11-10 19:00 UTC (2026-11-10 14:00 EST, America/Toronto)" in alert.text


def test_an_alert_still_waiting_when_its_opportunity_closes_is_not_sent(alerts, mail_server, clock, engine):
    inbox = mail_server.inbox
    subscribed(alerts, inbox, ANA)
    mail_server.stop()
    number = open_opportunity(alerts, deadline="2026-11-03")
    deliver(alerts)
    clock.now = datetime(2026, 11, 4, tzinfo=timezone.utc)
    alerts.run()
    mail_server.start()
    alerts.runtime.mailer.drain()
    assert alerts_to(inbox, ANA) == [] and outbox(engine) == {"cancelled": 1}
    # Reopened, it is news again: sent then, once.
    alerts.comment(number, "pm-alice", "/extend 2026-11-10")
    deliver(alerts)
    deliver(alerts)
    assert alerts_to(inbox, ANA) == ["New opportunity: Speed up the build ($9,500.00)"]


def test_an_opportunity_of_a_private_repository_is_never_announced(alerts, mail_server, sim):
    inbox = mail_server.inbox
    subscribed(alerts, inbox, ANA)
    sim.add_repo("octo-org/secret", private=True)
    sim.add_installation(INSTALLATION, "octo-org", ["octo-org/procurement", "octo-org/secret"])
    sim.set_permission("octo-org/secret", "pm-alice", "write")
    issue = sim.open_issue("octo-org/secret", "Hidden work", form_body(), "pm-alice")
    alerts.act(sim.human_label("octo-org/secret", issue["number"], "pm-alice", "opportunity"))
    deliver(alerts)
    assert "devex:open" in [l["name"] if isinstance(l, dict) else l for l in sim.issue("octo-org/secret", issue["number"])["labels"]]
    assert alerts_to(inbox, ANA) == []


def test_an_address_the_server_refuses_for_good_is_forgotten(alerts, mail_server, engine):
    inbox = mail_server.inbox
    subscribed(alerts, inbox, ANA)
    subscribed(alerts, inbox, "gone@example.org")
    inbox.refuse.add("gone@example.org")
    open_opportunity(alerts)
    deliver(alerts)
    assert len(alerts_to(inbox, ANA)) == 1
    with Session(engine) as session:
        statuses = {r.status for r in session.exec(select(MailMessage).where(MailMessage.kind == "alert")).all()}
        assert statuses == {"sent", "refused"}
        row = session.exec(select(MailMessage).where(MailMessage.status == "refused")).one()
        assert "550" in row.last_error and "gone@" not in row.last_error
        ended = session.exec(select(AlertSubscription).where(AlertSubscription.status == "refused")).one()
        assert ended.email is None


def test_credentials_in_smtp_url_are_used(make_harness, engine):
    server = MailServer(auth=True)
    server.start()
    try:
        harness = with_alerts(make_harness(**alert_settings(server, SMTP_URL=f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{server.port}")))
        harness.browser.subscribe(ANA)
        harness.runtime.mailer.drain()
        assert server.inbox.logins == [("mailer", "p@ss:word")]
        assert len(server.inbox.to(ANA)) == 1
    finally:
        server.stop()


class SlowTransport:
    """The real SMTP transport, a little slow, so that two mailers overlap."""

    def __init__(self, inner, pause: float):
        self.inner, self.pause = inner, pause
        self.sent = 0

    def send(self, envelope_from, messages):
        threading.Event().wait(self.pause)
        results = self.inner.send(envelope_from, messages)
        self.sent += sum(1 for r in results if r is None)
        return results


def test_two_mailers_on_one_database_send_each_message_once(alerts, mail_server, db_url, clock):
    inbox = mail_server.inbox
    addresses = [f"freelancer{i}@example.org" for i in range(20)]
    for address in addresses:
        alerts.browser.subscribe(address)
    alerts.runtime.mailer.drain()
    for address in addresses:
        assert alerts.browser.get(inbox.to(address)[0].link("/alerts/confirm")).status_code == 200
    open_opportunity(alerts)
    open_opportunity(alerts, title="Another")
    alerts.run()

    settings = Settings(**alert_settings(mail_server))
    engines = [make_engine(db_url), make_engine(db_url)]
    mailers = [Mailer(e, settings, clock=clock) for e in engines]
    for mailer in mailers:
        mailer.transport = SlowTransport(mailer.transport, 0.05)
    errors = []

    def run(mailer):
        try:
            mailer.drain()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(m,)) for m in mailers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert not errors
    for address in addresses:
        assert sorted(alerts_to(inbox, address)) == ["New opportunity: Another ($9,500.00)", "New opportunity: Speed up the build ($9,500.00)"], address
    assert len([m for m in inbox.received if "New opportunity" in m.message["Subject"]]) == 40
    assert all(m.transport.sent for m in mailers)  # both took part


def test_the_mailer_runs_beside_the_worker_and_sender(make_harness, mail_server):
    harness = with_alerts(make_harness(**alert_settings(mail_server, DEVEX_MAIL_INTERVAL=0.02)))
    harness.runtime.start(worker=False, sender=False, scheduler=False)
    try:
        harness.browser.subscribe(ANA)
        waited = threading.Event()
        for _ in range(250):
            if mail_server.inbox.to(ANA):
                break
            waited.wait(0.02)
    finally:
        harness.runtime.shutdown()
    assert [t.name for t in threading.enumerate() if t.name == "devex-mailer"] == []
    assert len(mail_server.inbox.to(ANA)) == 1
