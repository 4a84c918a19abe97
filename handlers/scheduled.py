"""Internal deliveries the scheduler stores: a deadline passed, a payment overdue."""

from bot.stages import opportunities, payments
from bot.pipeline.context import Context
from bot.pipeline.routing import Router

router = Router()


@router.register("devex.deadline")
def deadline(ctx: Context) -> None:
    opportunities.deadline_passed(ctx, ctx.payload["opportunity_id"])


@router.register("devex.overdue")
def overdue(ctx: Context) -> None:
    payments.notify_overdue(ctx, ctx.payload["payment_id"])
