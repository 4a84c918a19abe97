"""`pull_request`: opened, edited, reopened and closed (merged or not): pay on pull."""

from bot.stages import payments
from bot.pipeline.context import Context
from bot.pipeline.routing import Router

router = Router()


def _has_body(payload: dict) -> bool:
    """Cheap test on the raw payload: only a body names an opportunity (or a reverted pull request)."""
    return bool((payload.get("pull_request") or {}).get("body"))


@router.register("pull_request", action="opened", accept=_has_body)
@router.register("pull_request", action="reopened", accept=_has_body)
def opened(ctx: Context) -> None:
    payments.pull_request_changed(ctx)


def _body_changed(payload: dict) -> bool:
    """A title or base branch change names nothing new; an edit that empties the body does."""
    return "body" in (payload.get("changes") or {})


# An edit may also remove the reference: the comment then says the pull request pays nothing.
@router.register("pull_request", action="edited", accept=_body_changed)
def edited(ctx: Context) -> None:
    payments.pull_request_changed(ctx)


@router.register("pull_request", action="closed", accept=_has_body)
def closed(ctx: Context) -> None:
    payments.pull_request_closed(ctx)
