"""The issue a command was written on: an opportunity, its evaluation issue, or an award review."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from bot.procurement.config import RepoConfig
from bot.stages.people import People
from storage.tables import Award, Opportunity


@dataclass
class Target:
    kind: str  # "opportunity", "evaluation" or "review"
    opportunity: Opportunity
    config: RepoConfig
    people: People
    award: Optional[Award] = None
    # GitHub writes that must follow the reply (queued after it).
    after_reply: list = field(default_factory=list)
