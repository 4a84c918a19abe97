"""Who may do what (PRODUCT.md "People"), decided from plain facts.

GitHub is asked for the facts (a collaborator's permission, a team
membership) elsewhere; these functions only decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

WRITE_PERMISSIONS = frozenset({"write", "maintain", "admin"})


def _norm(login: str) -> str:
    return login.lstrip("@").lower()


def listed(login: str, logins: Iterable[str]) -> bool:
    return _norm(login) in {_norm(x) for x in logins if "/" not in x}


def is_issuer(login: str, permission: str, issuers: Iterable[str]) -> bool:
    return permission in WRITE_PERMISSIONS or listed(login, issuers)


def is_evaluator(login: str, issuer: bool, evaluators: Iterable[str]) -> bool:
    return issuer or listed(login, evaluators)


def is_contract_officer(login: str, permission: str, officers: Iterable[str], team_member: bool) -> bool:
    """Listed (login or a team they belong to); repository admins when the list is empty."""
    officers = list(officers)
    if not officers:
        return permission == "admin"
    return listed(login, officers) or team_member


@dataclass(frozen=True)
class Conflict:
    """Why a user may not bid on an opportunity (None reasons: not conflicted)."""

    reasons: tuple[str, ...]

    @property
    def conflicted(self) -> bool:
        return bool(self.reasons)


def conflict_of(login: str, *, author: str, issuer: bool, evaluator: bool, contract_officer: bool) -> Conflict:
    reasons = []
    if _norm(login) == _norm(author):
        reasons.append("author")
    if issuer:
        reasons.append("issuer")
    if evaluator and not issuer:
        reasons.append("evaluator")
    if contract_officer:
        reasons.append("contract_officer")
    return Conflict(tuple(reasons))
