"""The facts GitHub holds about a person, asked once per delivery, decided by `roles`.

Privileged commands always ask GitHub afresh (a permission removed a minute
ago counts); the conflict check of a bid may use an answer a few minutes old,
and the award review checks every conflict again before anyone approves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional

from cachetools import TTLCache

from bot.procurement.config import RepoConfig
from bot.github.client import GitHubReader
from bot.procurement import roles

BIDDER_PERMISSION_TTL = 300.0
# `author_association` values of someone who is not a collaborator of the repository
# (OWNER, MEMBER and COLLABORATOR may have write access; these cannot).
NOT_COLLABORATORS = frozenset({"NONE", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN"})


class PermissionMemory:
    """Permissions read in the last `BIDDER_PERMISSION_TTL` seconds, for the conflict
    check of a bid only: (repository, login) -> permission. One per worker (the
    composition root makes it), shared by its threads."""

    def __init__(self, ttl: float = BIDDER_PERMISSION_TTL, size: int = 10_000):
        self._cache: TTLCache = TTLCache(maxsize=size, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, repository: str, login: str) -> Optional[str]:
        with self._lock:
            return self._cache.get((repository, login))

    def put(self, repository: str, login: str, permission: str) -> None:
        with self._lock:
            self._cache[(repository, login)] = permission


@dataclass
class People:
    github: Optional[GitHubReader]
    repository: str
    config: RepoConfig
    # No memory (a fresh one): every read asks GitHub, as privileged commands must.
    memory: PermissionMemory = field(default_factory=PermissionMemory)

    def __post_init__(self) -> None:
        self._permissions: dict[str, str] = {}
        self._teams: dict[str, bool] = {}
        self._outsiders: set[str] = set()

    def note_association(self, login: str, association: Optional[str]) -> None:
        """GitHub says on every comment how its author relates to the repository;
        some relations rule out write access, and so a permission read."""
        if association in NOT_COLLABORATORS:
            self._outsiders.add(login.lower())

    def permission(self, login: str, fresh: bool = True) -> str:
        key = login.lower()
        if key in self._permissions:
            return self._permissions[key]
        if self.github is None:
            return "none"
        if not fresh and key in self._outsiders:
            return "none"
        if not fresh:
            cached = self.memory.get(self.repository, key)
            if cached is not None:
                return cached
        permission = self.github.permission(self.repository, login)
        self._permissions[key] = permission
        self.memory.put(self.repository, key, permission)
        return permission

    def in_officer_team(self, login: str) -> bool:
        key = login.lower()
        if key not in self._teams:
            member = False
            if self.github is not None:
                for org, team in self.config.contract_officer_teams:
                    if self.github.team_member(org, team, login):
                        member = True
                        break
            self._teams[key] = member
        return self._teams[key]

    def is_issuer(self, login: str, fresh: bool = True) -> bool:
        if roles.listed(login, self.config.issuers):
            return True
        return roles.is_issuer(login, self.permission(login, fresh), self.config.issuers)

    def is_evaluator(self, login: str, fresh: bool = True) -> bool:
        if roles.listed(login, self.config.evaluators):
            return True
        if roles.is_evaluator(login, self.is_issuer(login, fresh), self.config.evaluators):
            return True
        return self.in_evaluator_team(login)

    def in_evaluator_team(self, login: str) -> bool:
        key = ("evaluator", login.lower())
        if key not in self._teams:
            self._teams[key] = self.github is not None and any(
                self.github.team_member(org, team, login) for org, team in self.config.evaluator_teams
            )
        return self._teams[key]

    def contract_officers_besides(self, login: str) -> list[str]:
        """Who else is a contract officer, asked of GitHub now (separation of duties)."""
        others = [name for name in self.config.contract_officer_logins if name.lower() != login.lower()]
        if self.github is not None:
            if not self.config.contract_officers:
                others += self.github.admins(self.repository)
            for org, team in self.config.contract_officer_teams:
                others += self.github.team_members(org, team)
        seen, unique = {login.lower()}, []
        for name in others:
            if name.lower() not in seen:
                seen.add(name.lower())
                unique.append(name)
        return unique

    def is_contract_officer(self, login: str, fresh: bool = True) -> bool:
        if roles.listed(login, self.config.contract_officer_logins):
            return True
        officers = self.config.contract_officers
        if officers:
            return self.in_officer_team(login) if self.config.contract_officer_teams else False
        return roles.is_contract_officer(login, self.permission(login, fresh), officers, False)

    def is_finance_officer(self, login: str, fresh: bool = True) -> bool:
        """Listed in `finance_officers` (a login or a team they belong to); the contract officers when empty."""
        if not self.config.finance_officers:
            return self.is_contract_officer(login, fresh)
        if roles.listed(login, self.config.finance_officer_logins):
            return True
        key = ("finance", login.lower())
        if key not in self._teams:
            self._teams[key] = self.github is not None and any(
                self.github.team_member(org, team, login) for org, team in self.config.finance_officer_teams
            )
        return self._teams[key]

    def is_technical_authority(self, login: str, contractor: Optional[str], fresh: bool = True) -> bool:
        """An issuer or evaluator who is not the contractor (PRODUCT.md "People")."""
        if contractor and login.lower() == contractor.lower():
            return False
        return self.is_evaluator(login, fresh)

    def conflict(self, login: str, author: str, fresh: bool = True) -> roles.Conflict:
        issuer = self.is_issuer(login, fresh)
        return roles.conflict_of(
            login,
            author=author,
            issuer=issuer,
            evaluator=self.is_evaluator(login, fresh),
            contract_officer=self.is_contract_officer(login, fresh),
        )


def people_of(ctx, repository: str, config: RepoConfig) -> People:
    """The people of one delivery, with the worker's memory of recent permissions."""
    return People(ctx.github, repository, config, ctx.permissions or PermissionMemory())
