"""No message of the bot mentions more than 50 people (GitHub notifies at most 50):
a message to many is posted once with the first of them, and the others are
named in follow-up comments that point to it."""

from __future__ import annotations

from typing import Any

from bot.messages import render
from bot.pipeline.context import Context
from bot.stages.effects import post
from storage.tables import Opportunity

MENTIONS_PER_COMMENT = 50


def post_to_many(ctx: Context, opportunity: Opportunity, template: str, names: list[str], /, *, others: int = 1, **values: Any) -> None:
    """`template` rendered with `bidders` = the first names (leaving room for the
    `others` people the message mentions itself), then the rest, 50 a comment."""
    first = MENTIONS_PER_COMMENT - others
    post(ctx, opportunity, render(template, bidders=names[:first], **values))
    for start in range(first, len(names), MENTIONS_PER_COMMENT):
        post(ctx, opportunity, render("mentions_continued", names=names[start : start + MENTIONS_PER_COMMENT], template=template))
