"""`ping`: GitHub's hello when the app's webhook is set up; stored and logged."""

from bot.pipeline.context import Context
from bot.pipeline.routing import Router

router = Router()


@router.register("ping")
def ping(ctx: Context) -> None:
    hook = ctx.payload.get("hook") or {}
    ctx.log.info("ping: %s (hook %s, app %s)", ctx.payload.get("zen", ""), hook.get("id"), hook.get("app_id"))
