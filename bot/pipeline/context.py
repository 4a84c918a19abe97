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
    queued: list[Write] = field(default_factory=list)

    def write(self, write: Write) -> None:
        """Queues a GitHub write; it commits with this delivery's effects."""
        self.queued.append(write)
        outbox.enqueue(self.session, write, delivery_id=self.delivery_id, now=self.now)

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
