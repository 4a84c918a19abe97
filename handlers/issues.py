"""`issues`: labelled, opened, edited, unlabelled, closed, deleted, transferred."""

from bot.stages import guard, opportunities
from bot.github.users import is_bot
from bot.pipeline.context import Context
from bot.procurement.lifecycle import LABEL_PREFIX
from bot.pipeline.routing import Router

router = Router()


def _human(payload: dict) -> bool:
    """The app's own label changes and edits come back as webhooks: skip them early."""
    return not is_bot(payload.get("sender") or {})


def _not_state_label(payload: dict) -> bool:
    name = str((payload.get("label") or {}).get("name", ""))
    return _human(payload) and not name.startswith(LABEL_PREFIX)


@router.register("issues", action="labeled", accept=_not_state_label)
def labeled(ctx: Context) -> None:
    config = opportunities.config_or_none(ctx)
    label = ((ctx.payload.get("label") or {}).get("name") or "").lower()
    if config is not None and label != config.label.lower():
        return
    opportunities.validate(ctx, labelled=True)


@router.register("issues", action="opened", accept=_human)
def opened(ctx: Context) -> None:
    if guard.issue_opened_by_transfer(ctx):
        return  # an opportunity that moved here with its issue, not a new one
    labels = [str(l.get("name", "")).lower() for l in (ctx.payload.get("issue") or {}).get("labels") or []]
    if not labels:
        return
    config = opportunities.config_or_none(ctx)
    if config is None or config.label.lower() in labels:
        opportunities.validate(ctx, labelled=True, quiet=True)


@router.register("issues", action="edited", accept=_human)
def edited(ctx: Context) -> None:
    opportunities.validate(ctx, labelled=False)


@router.register("issues", action="unlabeled", accept=_not_state_label)
def unlabeled(ctx: Context) -> None:
    guard.label_removed(ctx)


@router.register("issues", action="closed", accept=_human)
def closed(ctx: Context) -> None:
    guard.issue_closed(ctx)


@router.register("issues", action="deleted")
def deleted(ctx: Context) -> None:
    guard.issue_deleted(ctx)


@router.register("issues", action="transferred")
def transferred(ctx: Context) -> None:
    guard.issue_transferred(ctx)
