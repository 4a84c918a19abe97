"""What a command did, as the reply tells it (`templates/*/outcome/` and `refusal/`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class Outcome:
    command: str  # canonical English name, e.g. "bid"
    alias: str  # what the user typed, e.g. "soumission"
    line: str  # the command line as written
    kind: str  # "refused", or a template name under outcome/
    code: Optional[str] = None  # the refusal's template under refusal/
    params: dict[str, Any] = field(default_factory=dict)
    # Whether the reply may quote the command (never a sealed bid's amount).
    echo: bool = True

    @property
    def refused(self) -> bool:
        return self.kind == "refused"


@dataclass(frozen=True)
class Refusal:
    """Why a person may not use a command now: the refusal's template under
    `refusal/`, and what `/help` says would unlock it (`unlocks` in `_names.md`)."""

    code: str
    unlock: str
    params: dict[str, Any] = field(default_factory=dict)


def refused(cmd, refusal: Refusal) -> Outcome:
    return refuse(cmd, refusal.code, **refusal.params)


def done(cmd, kind: str, **params: Any) -> Outcome:
    return Outcome(cmd.name, cmd.alias, cmd.line, kind, params=params, echo=cmd.name != "bid")


def refuse(cmd, code: str, **params: Any) -> Outcome:
    return Outcome(cmd.name, cmd.alias, cmd.line, "refused", code=code, params=params, echo=cmd.name != "bid")
