"""Subscribing, confirming and unsubscribing: what the alert pages do, in storage terms.

Double opt-in: a subscription is `pending` until its confirmation link is
followed, and nothing but that one confirmation message is ever sent to a
pending address. The form may be posted any number of times: an address gets
at most one confirmation request an hour (the mailer also spaces the sends an
hour apart), and what the page answers is the same whether the address was
new, already subscribed or limited, so the form tells nobody anything about
an address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlmodel import Session

from bot.alerts import tokens
from bot.alerts.addresses import address_hash, log_name
from bot.procurement.searches import Search
from storage import alerts as store
from storage.tables import AlertSubscription

log = logging.getLogger(__name__)

CONFIRMATION_SPACING = timedelta(hours=1)


def search_of(subscription: AlertSubscription) -> Search:
    return Search(skill=subscription.skill, org=subscription.org, min_value=subscription.min_value, max_value=subscription.max_value)


def subscribe(session: Session, key: str, address: str, search: Search, language: str, now: datetime) -> bool:
    """Stores a pending subscription and its confirmation message; False (and nothing
    stored, the address included) when the address asked within the hour."""
    hashed = address_hash(key, address)
    limit = store.lock_address(session, hashed)
    if limit.last_requested_at is not None and limit.last_requested_at > now - CONFIRMATION_SPACING:
        log.info("alerts: confirmation for address %s not asked again within the hour", log_name(hashed))
        return False
    store.supersede_pending(session, hashed, now)
    subscription = store.add_subscription(
        session,
        AlertSubscription(
            email=address,
            address_hash=hashed,
            language=language,
            skill=search.skill,
            org=search.org,
            min_value=search.min_value,
            max_value=search.max_value,
            status="pending",
            created_at=now,
        ),
    )
    store.enqueue_confirmation(session, subscription, now)
    limit.last_requested_at = now
    session.add(limit)
    log.info("alerts: subscription %s waits for confirmation (address %s)", subscription.id, log_name(hashed))
    return True


@dataclass(frozen=True)
class Confirmation:
    subscription: Optional[AlertSubscription] = None
    problem: Optional[str] = None  # bad, expired, gone


def confirm(session: Session, key: str, token: Optional[str], now: datetime) -> Confirmation:
    reading = tokens.read(key, tokens.CONFIRM, token, now)
    if reading.subscription_id is None:
        return Confirmation(problem="bad")
    subscription = store.subscription(session, reading.subscription_id, lock=True)
    if subscription is None:
        return Confirmation(problem="bad")
    if subscription.status == "confirmed":
        return Confirmation(subscription=subscription)  # the link followed twice
    if reading.problem == "expired":
        return Confirmation(problem="expired")
    if subscription.status != "pending" or subscription.email is None:
        return Confirmation(problem="gone")
    store.confirm(session, subscription, now)
    log.info("alerts: subscription %s confirmed (address %s)", subscription.id, log_name(subscription.address_hash))
    return Confirmation(subscription=subscription)


def unsubscribe_language(session: Session, key: str, token: Optional[str], now: datetime) -> Optional[str]:
    """The language of a genuine unsubscribe link's subscription (for its page), else None."""
    reading = tokens.read(key, tokens.UNSUBSCRIBE, token, now)
    if reading.problem is not None:
        return None
    subscription = store.subscription(session, reading.subscription_id)
    return subscription.language if subscription is not None else None


def unsubscribe(session: Session, key: str, token: Optional[str], now: datetime) -> Optional[str]:
    """Every message to the subscription's address stops; the subscription's language,
    or None for a link that is not genuine. Following it again is no error: the address
    is already unsubscribed."""
    reading = tokens.read(key, tokens.UNSUBSCRIBE, token, now)
    if reading.problem is not None:
        return None
    subscription = store.subscription(session, reading.subscription_id)
    if subscription is None:
        return None
    ended = store.end_address(session, subscription.address_hash, "unsubscribed", now)
    if ended:
        log.info("alerts: address %s unsubscribed (%d subscriptions ended)", log_name(subscription.address_hash), ended)
    return subscription.language


def housekeeping(session: Session, now: datetime) -> None:
    """Addresses of confirmations never followed are erased once their link has expired."""
    expired = store.expire_unconfirmed(session, now - tokens.CONFIRM_TTL, now)
    if expired:
        log.info("alerts: %d unconfirmed subscriptions expired and their addresses erased", expired)
    store.forget_addresses(session, now - CONFIRMATION_SPACING)
