"""Installations of the app and the repositories they reach, kept current from
`installation` and `installation_repositories` events.

A deleted or suspended installation gets no further GitHub calls: the worker
ignores its deliveries and the sender skips its writes until it is unsuspended.
"""

from __future__ import annotations

from bot.pipeline.context import Context
from storage import installations


def _account(ctx: Context) -> str:
    return ((ctx.payload.get("installation") or {}).get("account") or {}).get("login", "")


def set_status(ctx: Context, status: str) -> None:
    installations.set_status(ctx.session, ctx.installation_id, status, _account(ctx))
    if status == "active":
        installations.add_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories") or [])
    ctx.log.info("installation %s %s", ctx.installation_id, status)


def repositories_added(ctx: Context) -> None:
    installations.add_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories_added") or [])


def repositories_removed(ctx: Context) -> None:
    installations.remove_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories_removed") or [])
