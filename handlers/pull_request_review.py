"""`pull_request_review`: submitted, edited or dismissed: the pull request's comment shows what acceptance still needs."""

from bot.pipeline.context import Context
from bot.pipeline.routing import Router
from bot.stages import payments

router = Router()


def _open_with_body(payload: dict) -> bool:
    """Cheap test on the raw payload: only an open pull request whose body may name an opportunity."""
    pr = payload.get("pull_request") or {}
    return bool(pr.get("body")) and pr.get("state") == "open"


@router.register("pull_request_review", action="submitted", accept=_open_with_body)
@router.register("pull_request_review", action="edited", accept=_open_with_body)
@router.register("pull_request_review", action="dismissed", accept=_open_with_body)
def reviewed(ctx: Context) -> None:
    payments.pull_request_changed(ctx)
