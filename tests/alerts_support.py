"""For the alert tests: a real SMTP server (aiosmtpd), a browser that keeps its cookies,
and the bot with alerts on, its board showing the form as the board's list page does."""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Optional
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


BOARD = "https://board.test"
KEY = "a-test-key-of-at-least-16-characters"
MAIL_FROM = "Devex alerts <alerts@board.test>"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def part(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def link(self, path: str) -> str:
        """The first link in the text part to `path` (as a path and query the app takes)."""
        match = re.search(re.escape(BOARD + path) + r"\?token=[^\s]+", self.text)
        assert match, f"no {path} link in:\n{self.text}"
        url = urlsplit(match.group(0))
        return f"{url.path}?{url.query}"


class Inbox:
    """The aiosmtpd handler: keeps what it receives; refuses the recipients in `refuse`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(raw, policy=policy.default), raw))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address.lower() in (t.lower() for t in r.rcpt_tos)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """A real SMTP server on 127.0.0.1 that a test can stop and start again on its port."""

    def __init__(self, auth: bool = False) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.auth = auth
        self.controller: Optional[Controller] = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        options = dict(authenticator=self.inbox.authenticate, auth_require_tls=False, auth_required=True) if self.auth else {}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail_server():
    server = MailServer()
    server.start()
    yield server
    server.stop()


class Browser:
    """Someone on the board: requests to the app, cookies kept between them."""

    def __init__(self, app) -> None:
        self.app = app
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=BOARD, cookies=self.cookies) as client:
                response = await client.request(method, url, **kwargs)
                self.cookies = client.cookies
                return response

        return asyncio.run(go())

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def board_token(self, lang: str = "en") -> str:
        page = self.get(f"/{lang}/")
        assert page.status_code == 200
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)

    def subscribe(self, email: str, lang: str = "en", **search: str) -> httpx.Response:
        """Fills in the form on the board's list page and sends it."""
        token = self.board_token(lang)
        fields = {"email": email, "skill": "", "org": "", "min": "", "max": "", **search, "csrf_token": token}
        return self.post(f"/{lang}/alerts", data=fields, headers={"Origin": BOARD})


def alert_settings(mail: Optional[MailServer], **more) -> dict:
    values = dict(DEVEX_SECRET_KEY=KEY, DEVEX_PUBLIC_URL=BOARD, DEVEX_MAIL_FROM=MAIL_FROM, DEVEX_MAIL_RETRY_BASE=1, DEVEX_MAIL_LEASE=60)
    if mail is not None:
        values["SMTP_URL"] = mail.url
    values.update(more)
    return values


def with_alerts(harness):
    """A browser on the harness's app: the runtime mounts the board (its list page
    carries the alert form) and the alert routes."""
    harness.browser = Browser(harness.app)
    return harness


@pytest.fixture
def alerts(make_harness, mail_server):
    """The bot with alerts on, sending to `mail_server`."""
    return with_alerts(make_harness(**alert_settings(mail_server)))
