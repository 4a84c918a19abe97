"""`installation` and `installation_repositories`: keep installations current.

A deleted or suspended installation gets no further GitHub calls: the worker
ignores its deliveries and the sender skips its writes until it is unsuspended.
"""

from bot.pipeline.context import Context
from bot.pipeline.routing import Router
from bot.stages import guard
from storage import installations

router = Router()


def _account(ctx: Context) -> str:
    return ((ctx.payload.get("installation") or {}).get("account") or {}).get("login", "")


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
@router.register("installation", action="unsuspend")
def installation_active(ctx: Context) -> None:
    installations.set_status(ctx.session, ctx.installation_id, "active", _account(ctx))
    installations.add_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories") or [])
    guard.installation_holds(ctx, ctx.payload.get("repositories") or [])
    ctx.log.info("installation %s active", ctx.installation_id)


@router.register("installation", action="suspend")
def installation_suspended(ctx: Context) -> None:
    installations.set_status(ctx.session, ctx.installation_id, "suspended", _account(ctx))
    ctx.log.info("installation %s suspended", ctx.installation_id)


@router.register("installation", action="deleted")
def installation_deleted(ctx: Context) -> None:
    installations.set_status(ctx.session, ctx.installation_id, "deleted", _account(ctx))
    ctx.log.info("installation %s deleted", ctx.installation_id)


@router.register("installation_repositories", action="added")
def repositories_added(ctx: Context) -> None:
    installations.add_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories_added") or [])
    guard.installation_holds(ctx, ctx.payload.get("repositories_added") or [])


@router.register("installation_repositories", action="removed")
def repositories_removed(ctx: Context) -> None:
    installations.remove_repositories(ctx.session, ctx.installation_id, ctx.payload.get("repositories_removed") or [])
