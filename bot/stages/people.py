"""The facts GitHub holds about a person, asked once per delivery, decided by `roles`.

Privileged commands always ask GitHub afresh (a permission removed a minute
ago counts); the conflict check of a bid may use an answer a few minutes old,
and the award review checks every conflict again before anyone approves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

from bot.procurement.config import RepoConfig
from bot.github.client import GitHubReader
from bot.procurement import roles

# A bidder's permission, for the conflict check only: (repository, login) -> (permission, at)
_BIDDER_PERMISSIONS: dict[tuple[str, str], tuple[str, float]] = {}
_LOCK = threading.Lock()
BIDDER_PERMISSION_TTL = 300.0
# `author_association` values of someone who is not a collaborator of the repository
# (OWNER, MEMBER and COLLABORATOR may have write access; these cannot).
NOT_COLLABORATORS = frozenset({"NONE", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN"})


@dataclass
class People:
    github: Optional[GitHubReader]
    repository: str
    config: RepoConfig

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
            with _LOCK:
                cached = _BIDDER_PERMISSIONS.get((self.repository, key))
            if cached and time.monotonic() - cached[1] < BIDDER_PERMISSION_TTL:
                return cached[0]
        permission = self.github.permission(self.repository, login)
        self._permissions[key] = permission
        with _LOCK:
            _BIDDER_PERMISSIONS[(self.repository, key)] = (permission, time.monotonic())
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


def forget_cached_permissions() -> None:
    with _LOCK:
        _BIDDER_PERMISSIONS.clear()
