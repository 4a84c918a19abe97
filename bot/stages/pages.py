"""Long bot text split into GitHub-sized pages: an issue body, then comments.

GitHub refuses a body over 65,536 characters. An evaluation issue with many
proposals, or an award review with a long history, is cut between blocks
(never inside one) into pages: the first is the issue's body after its
heading, the others are comments on it. Where the cuts fall depends on the
blocks alone, so a page rendered again later holds the same blocks. A block
too long for any page is cut by the caller first (`split_text`).
"""

from __future__ import annotations

from typing import Callable, Optional

from bot.messages import GITHUB_BODY_LIMIT
from bot.github.requests import Prepared

# Room kept on every page for the hidden markers.
PAGE_LIMIT = GITHUB_BODY_LIMIT - 1_500
# The first page's heading (both languages) stays within this.
HEAD_BUDGET = 25_000
FIRST_PAGE_BLOCKS = PAGE_LIMIT - HEAD_BUDGET
# A continuation page's own heading stays within this.
LATER_PAGE_BLOCKS = PAGE_LIMIT - 1_000
SEPARATOR = "\n\n"


def paginate(blocks: list[str], first: int = FIRST_PAGE_BLOCKS, later: int = LATER_PAGE_BLOCKS) -> list[list[str]]:
    """The blocks of each page, in order; the first page may hold none."""
    pages: list[list[str]] = [[]]
    size, room = 0, first
    for block in blocks:
        grow = len(block) + (len(SEPARATOR) if pages[-1] else 0)
        if size + grow > room and (pages[-1] or len(pages) == 1):
            pages.append([])
            size, room, grow = 0, later, len(block)
        pages[-1].append(block)
        size += grow
    return pages


def split_text(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters that join back exactly."""
    if size <= 0:
        raise ValueError("size must be positive")
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def page_write(
    repository: str,
    issue_number: Optional[int],
    page: int,
    pages: Callable[[], list[str]],
    *,
    title: str,
    label: str,
    then: str,
) -> tuple[Prepared, Optional[str]]:
    """What one page's write sends: page 0 opens the issue (once, remembered by
    `then`), later pages are comments on it; and the `then` to set, if any."""
    if page == 0:
        if issue_number is not None:
            return Prepared(skip=True), None
        return Prepared("POST", f"/repos/{repository}/issues", {"title": title, "body": pages()[0], "labels": [label]}), then
    rendered = pages()
    if issue_number is None or page >= len(rendered):
        return Prepared(skip=True), None
    return Prepared("POST", f"/repos/{repository}/issues/{issue_number}/comments", {"body": rendered[page]}), None
