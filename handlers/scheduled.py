"""Internal deliveries the scheduler stores: a deadline passed, a payment overdue."""

from bot.stages import opportunities, payments
from bot.pipeline.context import Context
from bot.pipeline.routing import Router
from storage import procurement as store

router = Router()


@router.register("devex.deadline")
def deadline(ctx: Context) -> None:
    opportunity = store.opportunity(ctx.session, ctx.payload["opportunity_id"])
    if opportunity is not None:
        opportunities.close_bidding(ctx, opportunity)


@router.register("devex.overdue")
def overdue(ctx: Context) -> None:
    payments.notify_overdue(ctx, ctx.payload["payment_id"])
