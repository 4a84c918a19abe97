"""`issue_comment.created`: comment commands. Edited and deleted comments are not commands; an edit of a recorded sealed bid is answered."""

from bot.stages import sealed
from bot.stages.comment_commands import comment_created
from bot.github.users import is_bot
from bot.pipeline.context import Context
from bot.pipeline.routing import Router

router = Router()


def _may_hold_commands(payload: dict) -> bool:
    """Cheap test on the raw payload: a human's comment with a `/` in it."""
    comment = payload.get("comment") or {}
    return not is_bot(comment.get("user")) and not is_bot(payload.get("sender")) and "/" in (comment.get("body") or "")


@router.register("issue_comment", action="created", accept=_may_hold_commands)
def created(ctx: Context) -> None:
    comment_created(ctx)


@router.register("issue_comment", action="edited", accept=_may_hold_commands)
def edited(ctx: Context) -> None:
    sealed.bid_edited(ctx)
