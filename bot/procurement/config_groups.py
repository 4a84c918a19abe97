"""The groups of `.github/devex.yml` (a key holding keys), each one typed model.

`acceptance` (PRODUCT.md "Acceptance: what a merge must show before it pays"):
what a merged pull request of the contractor must show before its merge pays.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.procurement.config_fields import fail as _fail
from bot.procurement.config_fields import text_value as _text

# A git branch name as GitHub allows it: no spaces, no "..", no control characters.
BRANCH_RE = re.compile(r"^(?!/)(?!.*\.\.)(?!.*//)[^\s~^:?*\[\\\x00-\x1f\x7f]{1,250}(?<![/.])$")


class AcceptanceConfig(BaseModel):
    """`acceptance:` what a merge must show before it pays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    branch: str = Field(
        "default",
        description="The branch a paying pull request is merged into: `default` (the repository's default branch) or a branch name.",
    )
    approvals: int = Field(
        1,
        description="Approving reviews needed, each reviewer's latest counting, from writers who are not the contractor.",
    )
    checks: Literal["all", "none"] = Field(
        "all",
        description="all: every check run and commit status of the head commit must succeed; none: checks are not looked at.",
    )

    @field_validator("branch", mode="before")
    @classmethod
    def _branch(cls, value: Any) -> str:
        text = _text(value)
        if not BRANCH_RE.match(text):
            raise _fail("branch_unreadable")
        return text

    @field_validator("approvals", mode="before")
    @classmethod
    def _approvals(cls, value: Any) -> int:
        if value is None:
            raise _fail("empty_value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail("not_an_integer")
        if not 0 <= value <= 10:
            raise _fail("out_of_range")
        return value

    @field_validator("checks", mode="before")
    @classmethod
    def _checks(cls, value: Any) -> str:
        text = _text(value).lower()
        if text not in ("all", "none"):
            raise _fail("checks_unknown")
        return text
