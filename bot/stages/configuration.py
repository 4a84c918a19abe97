"""Repository configuration: defaults, then `.github/devex.yml` of the default branch.

The file's text is cached in the database (so every process sees a push that
changes it) and trusted for `config_ttl` seconds; the parsed `RepoConfig` is
memoised per text (`functools.lru_cache`). An invalid file raises `ConfigError`: the defaults are
never silently used in its place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable, Optional

from sqlmodel import Session

from bot.procurement.config import CONFIG_PATH, RepoConfig, parse_config
from bot.github.client import GitHubReader
from storage import configs



@lru_cache(maxsize=1024)
def _parsed(text: Optional[str]) -> RepoConfig:
    """Parsed once per text (a RepoConfig is immutable); raises ConfigError."""
    return parse_config(text)


def cached(session: Session, repository: str) -> RepoConfig:
    """The configuration as last read from GitHub (by any process), without asking
    GitHub again: for work done when no delivery is at hand (a write rendered when
    sent). Raises ConfigError for an invalid file, like `ConfigStore.load`."""
    row = configs.cached(session, repository)
    return _parsed(row.text if row is not None else None)


class ConfigStore:
    def __init__(self, ttl: float, clock: Callable[[], datetime]):
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock

    def text(self, session: Session, github: Optional[GitHubReader], repository: str) -> Optional[str]:
        now = self.clock()
        row = configs.cached(session, repository)
        if row is not None and now - row.fetched_at < self.ttl:
            return row.text
        if github is None:
            return row.text if row is not None else None
        text = github.file_text(repository, CONFIG_PATH)
        configs.remember(session, repository, text, now)
        return text

    def load(self, session: Session, github: Optional[GitHubReader], repository: str) -> RepoConfig:
        """The repository's configuration; raises bot.procurement.config.ConfigError for an invalid file."""
        return _parsed(self.text(session, github, repository))

    @staticmethod
    def forget(session: Session, repository: str) -> None:
        configs.forget(session, repository)
