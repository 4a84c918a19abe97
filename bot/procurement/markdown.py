"""Markdown as GitHub reads it, the little the parsers need: lines and code fences."""

from __future__ import annotations


def lines(body: str) -> list[str]:
    # Markdown's line endings only: str.splitlines would also split on
    # form feeds, U+2028 and others that are ordinary text in a comment.
    return body.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def closes_fence(line: str, fence: str) -> bool:
    """Whether `line` ends a code block opened by `fence` (CommonMark's rule)."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return False
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and stripped[run:].strip(" \t") == ""
