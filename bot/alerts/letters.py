"""The two messages alerts send, multipart (text and HTML), in the subscriber's language.

Each carries a one-click unsubscribe link in its body and in the
`List-Unsubscribe` and `List-Unsubscribe-Post` headers (RFC 8058), and a
`Message-ID` fixed by its outbox row, so that if a crash ever made the mailer
send one twice, mail clients would see the same message.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from typing import Optional
from urllib.parse import quote, urlsplit

from bot.alerts import tokens
from bot.alerts.rendering import render_email
from bot.settings import Settings
from storage.tables import AlertSubscription, MailMessage, Opportunity

# The list headers hold one long URL: folded at 78 characters it would be written as an
# encoded word, which mail clients do not read there. They stay on one line (RFC 5322
# allows 998 characters); every other header and the bodies keep the usual limits.
UNFOLDED = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id"})


class AlertPolicy(EmailPolicy):
    """The message's policy (line ends included, as each generator sets them), with
    longer lines for the list headers only."""

    def fold(self, name, value):
        if name.lower() in UNFOLDED:
            return EmailPolicy.fold(self.clone(max_line_length=998), name, value)
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in UNFOLDED:
            return EmailPolicy.fold_binary(self.clone(max_line_length=998), name, value)
        return super().fold_binary(name, value)


POLICY = AlertPolicy()
# Line breaks and runs of spaces, not the no-break spaces French amounts keep.
ONE_LINE = re.compile(r"[\r\n\t\v\f\x20\x85\u2028\u2029]+")


def sender_address(settings: Settings) -> str:
    """`DEVEX_MAIL_FROM`, or an address at the board's own host."""
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.public_base).hostname or "localhost"
    return str(Address("devex-bot", "devex-bot", host))


def envelope_sender(settings: Settings) -> str:
    return parseaddr(sender_address(settings))[1]


def _domain(settings: Settings) -> str:
    return envelope_sender(settings).rpartition("@")[2] or "localhost"


def search_terms(subscription: AlertSubscription) -> dict:
    return {"skill": subscription.skill, "org": subscription.org, "min": subscription.min_value, "max": subscription.max_value}


def confirm_url(settings: Settings, subscription: AlertSubscription) -> str:
    token = tokens.confirmation(settings.secret_key, subscription.id, subscription.created_at)
    return f"{settings.public_base}/alerts/confirm?token={quote(token)}"


def unsubscribe_url(settings: Settings, subscription: AlertSubscription) -> str:
    return f"{settings.public_base}/alerts/unsubscribe?token={quote(tokens.unsubscribe(settings.secret_key, subscription.id))}"


def board_url(settings: Settings, opportunity: Opportunity, lang: str) -> str:
    return f"{settings.public_base}/{lang}/opportunities/{opportunity.repository}/{opportunity.issue_number}"


def _message(settings: Settings, row: MailMessage, subscription: AlertSubscription, name: str, now: datetime, **values) -> EmailMessage:
    lang = subscription.language
    unsubscribe = unsubscribe_url(settings, subscription)
    values.update(search=search_terms(subscription), unsubscribe_url=unsubscribe, lang=lang)
    message = EmailMessage(policy=POLICY)
    message["Subject"] = ONE_LINE.sub(" ", render_email(f"{lang}/{name}_subject.txt", **values)).strip()
    message["From"] = sender_address(settings)
    message["To"] = subscription.email
    message["Date"] = format_datetime(now)
    tag = hashlib.sha256(f"{row.id}|{row.created_at.isoformat()}".encode()).hexdigest()[:16]
    message["Message-ID"] = f"<devex-{row.kind}-{row.id}.{tag}@{_domain(settings)}>"
    # An automatic message: no vacation replies (RFC 3834), and a list the reader can leave.
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = f"<alerts.{_domain(settings)}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_email(f"{lang}/{name}.txt", **values) + "\n")
    message.add_alternative(render_email(f"{lang}/{name}.html", **values) + "\n", subtype="html")
    message["Content-Language"] = lang  # after the parts: making them moves Content-* headers down
    return message


def confirmation(settings: Settings, row: MailMessage, subscription: AlertSubscription, now: datetime, replaces: bool) -> EmailMessage:
    return _message(
        settings, row, subscription, "confirm", now,
        confirm_url=confirm_url(settings, subscription),
        expires=subscription.created_at + tokens.CONFIRM_TTL,
        replaces=replaces,
    )


def alert(settings: Settings, row: MailMessage, subscription: AlertSubscription, opportunity: Opportunity, now: datetime) -> EmailMessage:
    return _message(
        settings, row, subscription, "alert", now,
        o=opportunity,
        board_url=board_url(settings, opportunity, subscription.language),
        issue_url=opportunity.html_url,
    )


def recipient(message: EmailMessage) -> Optional[str]:
    return parseaddr(str(message["To"]))[1] or None
