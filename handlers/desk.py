"""Internal deliveries the bidder's desk stores: a registration, a bid or a withdrawal sent from it."""

from bot.pipeline.context import Context
from bot.pipeline.routing import Router
from bot.stages import desk

router = Router()


@router.register("devex.desk")
def desk_form(ctx: Context) -> None:
    desk.apply(ctx)
