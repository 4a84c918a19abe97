"""The comment-command grammar: which lines of a comment are commands.

A command is a line that starts with ``/`` (after at most three spaces, as
Markdown allows before a paragraph), outside fenced code, ``>`` quotes and
HTML comments, so quoting someone's ``/approve`` never approves anything. A
comment may hold several. Names match without regard to case, in English or
French (accents optional); an unknown ``/word`` is not a command.

``/bid`` is the exception to "one line, one command": the proposal is the
rest of the comment, so every line after a ``/bid`` is proposal text, even
one that looks like a command.

Parsing never raises. A recognised command whose arguments are missing or
unreadable comes back with ``error`` set to a stable code (and
``error_params``) and ``args`` set to ``None``; the handler answers with the
message ``templates/`` holds for that code. A valid command has ``error``
``None`` and ``args`` of the type the command table names for it
(``bot.stages.command_table``: the one place a command is defined).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

from bot.procurement import markdown
from bot.procurement.command_args import (
    ApproveArgs,
    CertifyArgs,
    CommitArgs,
    READERS,
    AwardArgs,
    BidArgs,
    CommandArgs,
    ExtendArgs,
    PaidArgs,
    ReasonArgs,
    ScoreArgs,
)
from bot.procurement.money import format_amount

@dataclass(frozen=True)
class Command:
    """One command found in a comment.

    ``name`` is the canonical English name, ``alias`` what the user typed
    (lower-cased, e.g. ``soumission``), ``line`` the command's line as
    written, stripped. ``args`` is ``None`` exactly when ``error`` is set.
    """

    name: str
    alias: str
    line: str
    args: CommandArgs | None
    error: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)


# --- line grammar -----------------------------------------------------------

# A command line: at most three leading spaces (four make an indented code
# block in Markdown), a slash, a name of letters, then whitespace or the end.
# "/usr/bin" or "/bid:" are not commands: the name must end at a space.
COMMAND_LINE_RE = re.compile(
    r"""
    ^\x20{0,3}
    # Letters only, accented ones included, precomposed or not ("é" may
    # arrive as "e" + U+0301 COMBINING ACUTE ACCENT).
    /(?P<name>(?:[^\W\d_]|[\u0300-\u036f])+)
    (?=\s|$)
    (?P<rest>.*)
    $
    """,
    re.VERBOSE | re.DOTALL,
)

# An opening code fence (CommonMark): up to three spaces, then three or more
# backticks or tildes; a backtick fence's info string may not hold a backtick.
FENCE_OPEN_RE = re.compile(
    r"""
    ^\x20{0,3}
    (?P<fence>`{3,}(?=[^`]*$)|~{3,})
    """,
    re.VERBOSE,
)

# A quoted line, as a reply by quote starts every line.
QUOTE_RE = re.compile(r"^\x20{0,3}>")

# An HTML comment hides its text when rendered: a command nobody can see in
# the thread must not act.
HTML_COMMENT_OPEN_RE = re.compile(r"^\x20{0,3}<!--")

# --- the comment ------------------------------------------------------------


def _readable_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """The lines a reader sees as text, with their index: not inside fenced code
    or an HTML comment, and not `>` quotes (quoting someone's command does nothing)."""
    fence: str | None = None  # the open fence's marker, while inside one
    in_html_comment = False
    for index, line in enumerate(lines):
        if fence is not None:
            if markdown.closes_fence(line, fence):
                fence = None
            continue
        if in_html_comment:
            in_html_comment = "-->" not in line
            continue
        opening = FENCE_OPEN_RE.match(line)
        if opening:
            fence = opening["fence"]
            continue
        if HTML_COMMENT_OPEN_RE.match(line):
            in_html_comment = "-->" not in line.split("<!--", 1)[1]
            continue
        if QUOTE_RE.match(line):
            continue
        yield index, line


def parse_commands(body: str | None, names: Mapping[str, tuple[str, type]]) -> list[Command]:
    """Every command in a comment body, in order. Never raises.

    `names`: each name a person may type (lower case, NFC) -> the command's
    canonical name and its argument type (the command table's `GRAMMAR`)."""
    if not isinstance(body, str) or not body:
        return []
    lines = markdown.lines(body)
    commands: list[Command] = []
    for index, line in _readable_lines(lines):
        match = COMMAND_LINE_RE.match(line)
        if match is None:
            continue
        alias = unicodedata.normalize("NFC", match["name"]).lower()
        known = names.get(alias)
        if known is None:
            continue  # an unknown /word, or a path such as /usr/bin
        name, args_type = known
        takes_rest = args_type is BidArgs
        following = lines[index + 1:] if takes_rest else []
        args, error, params = READERS[args_type](match["rest"], following)
        if takes_rest and isinstance(args, BidArgs):
            # The proposal is the whole comment without the /bid line: text written
            # before it too (other commands' lines aside).
            taken = {i for i, l in enumerate(lines[:index]) if _is_command_line(l, names)}
            before = [l for i, l in enumerate(lines[:index]) if i not in taken]
            if any(l.strip() for l in before):
                args = replace(args, proposal="\n".join(filter(None, (_trimmed(before), args.proposal))))
        commands.append(Command(
            name=name,
            alias=alias,
            line=line.strip(),
            args=args,
            error=error,
            error_params=params,
        ))
        if takes_rest:
            break  # the proposal is the rest of the comment
    return commands


def _is_command_line(line: str, names: Mapping[str, tuple[str, type]]) -> bool:
    match = COMMAND_LINE_RE.match(line)
    return match is not None and unicodedata.normalize("NFC", match["name"]).lower() in names


def _trimmed(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def render_command(cmd: Command) -> str:
    """Comment text that parses back to ``cmd`` (with its English name).

    Only a valid command (``error is None``) can be rendered: an invalid one
    has no arguments to write.
    """
    args = cmd.args
    if cmd.error is not None or args is None:
        raise ValueError("only a valid command can be rendered")
    if isinstance(args, BidArgs):
        # The proposal goes on the lines below, so that its first words can
        # never be read as part of the amount.
        amount = format_amount(args.amount, "en")
        return f"/bid {amount}\n{args.proposal}" if args.proposal else f"/bid {amount}"
    if isinstance(args, ScoreArgs):
        return " ".join(filter(None, ("/score", f"@{args.user}", str(args.score), args.note)))
    if isinstance(args, AwardArgs):
        return " ".join(filter(None, ("/award", f"@{args.user}", args.reason)))
    if isinstance(args, ExtendArgs):
        return f"/extend {args.date_text}"
    if isinstance(args, ReasonArgs):
        return f"/{cmd.name} {args.reason}"
    if isinstance(args, PaidArgs):
        return f"/paid #{args.payment_id} {args.reference}"
    if isinstance(args, ApproveArgs):
        return " ".join(filter(None, ("/approve", args.justification)))
    if isinstance(args, CommitArgs):
        return f"/commit {args.reference}"
    if isinstance(args, CertifyArgs):
        return f"/certify #{args.payment_id}"
    return f"/{cmd.name}"


# --- near misses on a sealed opportunity -------------------------------------

# A line that looks like a mistyped bid: any indentation, a slash, maybe a
# space, then a word that starts like "bid" or "soumission" ("/bids 3,900.00",
# "/bid3900", "    /bid", "/ bid", "/soumision", "/Bid:").
NEAR_MISS_RE = re.compile(r"^[ \t]*/[ \t]*(?:bid|soum)", re.IGNORECASE)


def looks_like_bid(body: str | None) -> bool:
    """Whether a comment holds a line that looks like a bid (outside fenced code,
    quotes and HTML comments). Called when it holds no command: on a sealed
    opportunity such a comment is removed and answered like a refused bid."""
    if not isinstance(body, str) or "/" not in body:
        return False
    for _, line in _readable_lines(markdown.lines(body)):
        folded = unicodedata.normalize("NFKD", line)
        if NEAR_MISS_RE.match("".join(c for c in folded if not unicodedata.combining(c))):
            return True
    return False
