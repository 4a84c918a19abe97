"""Named writes (rendered when sent) and what to do with GitHub's answers."""

from bot import opportunities

PREPARERS = {
    opportunities.SUMMARY: opportunities.prepare_summary,
}

FOLLOWS = {
    "remember_summary": opportunities.remember_summary,
    "remember_problems": opportunities.remember_problems,
}
