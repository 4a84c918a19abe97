"""`installation` and `installation_repositories`: keep installations current."""

from bot.pipeline.context import Context
from bot.pipeline.routing import Router
from bot.stages import installations

router = Router()


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
@router.register("installation", action="unsuspend")
def installation_active(ctx: Context) -> None:
    installations.set_status(ctx, "active")


@router.register("installation", action="suspend")
def installation_suspended(ctx: Context) -> None:
    installations.set_status(ctx, "suspended")


@router.register("installation", action="deleted")
def installation_deleted(ctx: Context) -> None:
    installations.set_status(ctx, "deleted")


@router.register("installation_repositories", action="added")
def repositories_added(ctx: Context) -> None:
    installations.repositories_added(ctx)


@router.register("installation_repositories", action="removed")
def repositories_removed(ctx: Context) -> None:
    installations.repositories_removed(ctx)
