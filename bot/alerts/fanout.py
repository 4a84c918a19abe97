"""An opportunity opened: one alert owed to each confirmed address whose search it matches.

Called by the stage that moves an opportunity to `open` (the first time, or
again with `/extend`), in its transaction: the outbox rows commit with the
state they announce, and a replayed delivery or a second opening adds none
(one message per opportunity and address, ever). Only what the board shows is
announced: nothing of a private repository, or of one whose privacy is not
known.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from sqlmodel import Session

from bot.alerts.subscriptions import search_of
from bot.procurement.searches import Terms, matches
from storage import alerts as store
from storage.installations import repository_private
from storage.tables import Opportunity

log = logging.getLogger(__name__)


def opportunity_opened(session: Session, opportunity: Opportunity, now: datetime, *, private: Optional[bool] = None, listed: bool = True) -> int:
    """Enqueues the alerts this opening owes; how many addresses matched.

    `private`: the repository's visibility as the delivery tells it (looked up
    among the installation's repositories when not given); `listed`: whether the
    repository is on the board at all (`board: false` takes it off)."""
    if not listed or opportunity.id is None:
        return 0
    if private is None:
        private = repository_private(session, opportunity.repository)
    if private is not False:
        return 0
    terms = Terms(repository=opportunity.repository, value=opportunity.value, skills=opportunity.skills)
    wanted = [s for s in store.confirmed_subscriptions(session) if matches(search_of(s), terms)]
    count = store.enqueue_alerts(session, opportunity.id, wanted, now)
    if count:
        log.info("alerts: opportunity %s matches %d subscriptions", opportunity.id, count)
    return count
