"""Repository configuration: defaults, then `.github/devex.yml` of the default branch.

The file's text is cached in the database (so every process sees a push that
changes it) and trusted for `config_ttl` seconds; the parsed `RepoConfig` is
memoised per text. An invalid file raises `ConfigError`: the defaults are
never silently used in its place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Optional

from sqlmodel import Session

from bot.procurement.config import RepoConfig, parse_config
from bot.github.client import GitHubReader
from storage import configs

CONFIG_PATH = ".github/devex.yml"


class ConfigStore:
    def __init__(self, ttl: float, clock: Callable[[], datetime]):
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock
        self._parsed: dict[Optional[str], RepoConfig] = {}

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
        text = self.text(session, github, repository)
        parsed = self._parsed.get(text)
        if parsed is None:
            parsed = parse_config(text)
            if len(self._parsed) > 1000:
                self._parsed.clear()
            self._parsed[text] = parsed
        return parsed

    @staticmethod
    def forget(session: Session, repository: str) -> None:
        configs.forget(session, repository)
