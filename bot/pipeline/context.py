"""What a handler gets for one delivery: the payload, a session, GitHub reads, queued writes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlmodel import Session

from bot.github.client import GitHubReader
from bot.github.timestamps import parse_timestamp
from bot.settings import Settings
from storage import outbox
from storage.outbox import Write


@dataclass
class Context:
    delivery_id: str
    event: str
    action: Optional[str]
    payload: dict
    installation_id: Optional[int]
    repository: Optional[str]
    session: Session
    github: Optional[GitHubReader]
    settings: Settings
    now: datetime
    received_at: datetime
    log: logging.LoggerAdapter
    configs: Any = None  # bot.stages.configuration.ConfigStore
    permissions: Any = None  # bot.stages.people.PermissionMemory
    # GitHub sent it again because recovery asked (it had failed to deliver it).
    recovered: bool = False
    # Queued and not stored yet: stored together by `store_writes`.
    unstored: list[Write] = field(default_factory=list, repr=False)

    def write(self, write: Write) -> None:
        """Queues a GitHub write; it commits with this delivery's effects. A write without
        a coalesce key is stored with the others queued after it (`store_writes`, which
        the worker calls when the delivery's handlers are done, before its savepoint
        ends); one with a key (the summary) at once, after those queued before it: a
        handler may look for it (`outbox.hold_pending_named`), and the order holds."""
        if write.coalesce_key:
            self.store_writes()
            outbox.enqueue(self.session, write, delivery_id=self.delivery_id, now=self.now)
        else:
            self.unstored.append(write)

    def store_writes(self) -> None:
        """Stores the writes queued and not stored yet, in their order, in one call to the
        database's driver (a bid's reply and its comment's removal: one wait for
        PostgreSQL, not two)."""
        if self.unstored:
            writes, self.unstored = self.unstored, []
            outbox.enqueue_all(self.session, writes, self.delivery_id, self.now)

    @property
    def written_at(self) -> datetime:
        """When GitHub recorded what this delivery tells (a comment's `created_at`),
        else when the delivery was received: the time that counts against a deadline."""
        comment = self.payload.get("comment")
        written = parse_timestamp(comment.get("created_at")) if isinstance(comment, dict) else None
        return written or self.received_at

    @property
    def sender(self) -> dict:
        return self.payload.get("sender") or {}
