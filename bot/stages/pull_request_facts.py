"""What the bot reads of a pull request from a `pull_request` or `pull_request_review` delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from bot.github.timestamps import parse_timestamp
from bot.pipeline.context import Context


@dataclass(frozen=True)
class PullRequest:
    """What the bot reads of a pull request event."""

    repository: str  # the base repository (a fork's pull request lives there too)
    number: int
    title: str
    body: str
    author: str
    html_url: str
    merged: bool
    merged_at: Optional[datetime]
    merged_by: Optional[str]
    head_sha: str = ""
    base_branch: str = ""
    default_branch: str = ""
    state: str = "open"


def pull_request_of(ctx: Context) -> Optional[PullRequest]:
    pr = ctx.payload.get("pull_request") or {}
    number = pr.get("number")
    if not isinstance(number, int) or not ctx.repository:
        return None
    base = pr.get("base") or {}
    repository = ctx.payload.get("repository") or base.get("repo") or {}
    merged = bool(pr.get("merged")) or bool(pr.get("merged_at"))
    return PullRequest(
        repository=ctx.repository,
        number=number,
        title=pr.get("title") or "",
        body=pr.get("body") or "",
        author=(pr.get("user") or {}).get("login", ""),
        html_url=pr.get("html_url") or "",
        merged=merged,
        merged_at=parse_timestamp(pr.get("merged_at")),
        merged_by=((pr.get("merged_by") or {}).get("login") or ctx.sender.get("login")) if merged else None,
        head_sha=(pr.get("head") or {}).get("sha") or "",
        base_branch=base.get("ref") or "",
        default_branch=repository.get("default_branch") or "",
        state=pr.get("state") or "open",
    )
