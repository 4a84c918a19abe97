"""Sending through SMTP (`SMTP_URL`), with the standard library.

`smtp://user:password@host:port` (port 587 by default) uses STARTTLS whenever
the server offers it; `smtps://...` (port 465) is TLS from the first byte.
Credentials are percent-decoded from the URL and are never sent in the clear
to anything but the machine itself. One connection carries a whole batch.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Optional
from urllib.parse import unquote, urlsplit

TIMEOUT = 30.0  # seconds per SMTP exchange
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class SmtpConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps)
    username: Optional[str] = None
    password: Optional[str] = None

    @classmethod
    def from_url(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpConfigError("SMTP_URL must be smtp://[user:password@]host[:port] or smtps://...")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 587),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class Failure:
    """Why one message was not sent; `permanent` when sending it again cannot help."""

    reason: str
    permanent: bool = False


# A server's answer may quote the address it refused: that never reaches a log or a row.
ADDRESS_LIKE = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


def _scrub(text: str) -> str:
    return ADDRESS_LIKE.sub("[address]", " ".join(text.split()))[:500]


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _scrub(f"{type(error).__name__} {error.smtp_code} {_text(error.smtp_error)}")
    return _scrub(f"{type(error).__name__}: {error}")


class SmtpTransport:
    def __init__(self, url: str, timeout: float = TIMEOUT, local_hostname: Optional[str] = None):
        self.server = SmtpServer.from_url(url)
        self.timeout = timeout
        self.local_hostname = local_hostname

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = ssl.create_default_context()
        if server.tls:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, local_hostname=self.local_hostname, timeout=self.timeout, context=context)
        else:
            connection = smtplib.SMTP(server.host, server.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            connection.ehlo()
            encrypted = server.tls
            if not encrypted and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
                encrypted = True
            if server.username:
                if not encrypted and server.host not in LOOPBACK:
                    raise SmtpConfigError(f"{server.host} offers no TLS: the SMTP_URL credentials are not sent in the clear")
                connection.login(server.username, server.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, envelope_from: str, messages: list[tuple[str, EmailMessage]]) -> list[Optional[Failure]]:
        """Sends each (recipient, message); for each, None when the server took it, or why not.
        A failure of the connection fails what was not sent yet, to be tried again."""
        results: list[Optional[Failure]] = [Failure("not tried")] * len(messages)
        try:
            connection = self._connect()
        except (smtplib.SMTPException, OSError, SmtpConfigError) as error:
            return [Failure(_describe(error))] * len(messages)
        try:
            for i, (to, message) in enumerate(messages):
                try:
                    connection.send_message(message, from_addr=envelope_from, to_addrs=[to])
                    results[i] = None
                except smtplib.SMTPRecipientsRefused as error:
                    codes = [code for code, _ in error.recipients.values()]
                    results[i] = Failure(_describe_refusal(error), permanent=bool(codes) and all(500 <= c < 600 for c in codes))
                    _reset(connection)
                except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as error:
                    results[i] = Failure(_describe(error))
                    break  # the rest keep "not tried"
                except smtplib.SMTPException as error:
                    results[i] = Failure(_describe(error))
                    _reset(connection)
        finally:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        return results


def _describe_refusal(error: smtplib.SMTPRecipientsRefused) -> str:
    return _scrub("SMTPRecipientsRefused " + "; ".join(f"{code} {_text(text)}" for code, text in error.recipients.values()))


def _reset(connection: smtplib.SMTP) -> None:
    try:
        connection.rset()
    except (smtplib.SMTPException, OSError):
        pass
