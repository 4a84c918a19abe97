"""The opportunity's summary comment, rendered from the current state."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Optional

from sqlmodel import Session

from bot.messages import render
from bot.stages import configuration
from storage import finance as finance_store
from storage import procurement as store
from storage.tables import Opportunity


def time_left(deadline: Optional[datetime], now: datetime) -> Optional[dict]:
    if deadline is None or deadline <= now:
        return None
    seconds = int((deadline - now).total_seconds())
    return {"days": seconds // 86400, "hours": seconds % 86400 // 3600, "minutes": seconds % 3600 // 60}


def summary_body(session: Session, opportunity: Opportunity, now: datetime, desk_base: Optional[str] = None) -> str:
    """The summary's text; raises ConfigError while the repository's configuration is invalid."""
    live, scored = store.live_and_scored(session, opportunity.id)
    payments = {p.milestone_id: p for p in store.payments(session, opportunity.id)}
    milestones = [
        SimpleNamespace(**m.model_dump(), payment=_payment_view(payments.get(m.id), now))
        for m in store.milestones(session, opportunity.id)
    ]
    award = store.approved_award(session, opportunity.id) or store.pending_award(session, opportunity.id)
    config = configuration.cached(session, opportunity.repository)  # raises ConfigError: no silent defaults
    registration_terms = (config.terms_url, config.terms_version)
    return render(
        "summary",
        mark="summary",
        o=opportunity,
        live=live,
        scored=scored,
        left=time_left(opportunity.deadline, now),
        milestones=milestones,
        public=None if opportunity.review_repository_private is None else not opportunity.review_repository_private,
        evaluation_url=opportunity.evaluation_issue_url,
        review_url=award.review_issue_url if award else None,
        award=award if award and award.status == "approved" else None,
        terms_url=registration_terms[0],
        terms_version=registration_terms[1],
        commitment=finance_store.commitment(session, opportunity.id),
        finance_officers=config.finance_officers,
        desk_base=desk_base,
    )


def _payment_view(payment, now: datetime):
    if payment is None:
        return None
    status = "overdue" if payment.status == "payable" and payment.due_at < now else payment.status
    return SimpleNamespace(id=payment.id, status=status, amount=payment.amount, due_at=payment.due_at)
