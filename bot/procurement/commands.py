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
``None`` and ``args`` of the type :data:`ARGS_TYPES` names for it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from bot.procurement.money import AmountError, format_amount, parse_amount
from bot.procurement import markdown

__all__ = [
    "ALIASES",
    "ARGS_TYPES",
    "COMMAND_ERROR_CODES",
    "COMMAND_NAMES",
    "AwardArgs",
    "BidArgs",
    "Command",
    "CommandArgs",
    "ExtendArgs",
    "NoArgs",
    "PaidArgs",
    "ReasonArgs",
    "ScoreArgs",
    "is_bot",
    "parse_commands",
    "render_command",
]


# --- argument types, one per shape of command ------------------------------


@dataclass(frozen=True)
class NoArgs:
    """``/help``, ``/status``, ``/register``, ``/withdraw``, ``/approve``.

    Text after the name is ignored (``/approve LGTM`` approves).
    """


@dataclass(frozen=True)
class BidArgs:
    """``/bid AMOUNT`` then the proposal: the rest of the line and comment."""

    amount: Decimal
    proposal: str


@dataclass(frozen=True)
class ScoreArgs:
    """``/score @user N [NOTE]``: N is 0 to 100 (``85`` or ``85/100``)."""

    user: str
    score: int
    note: str = ""


@dataclass(frozen=True)
class AwardArgs:
    """``/award @user [REASON]``."""

    user: str
    reason: str = ""


@dataclass(frozen=True)
class ExtendArgs:
    """``/extend DATE``: the date as typed; the handler reads it with the
    repository's time zone (``bot.procurement.dates.parse_deadline``)."""

    date_text: str


@dataclass(frozen=True)
class ReasonArgs:
    """``/cancel REASON``, ``/reject REASON``, ``/terminate REASON``."""

    reason: str


@dataclass(frozen=True)
class PaidArgs:
    """``/paid PAYMENT_ID REFERENCE``: the id as ``12`` or ``#12``."""

    payment_id: int
    reference: str


CommandArgs = NoArgs | BidArgs | ScoreArgs | AwardArgs | ExtendArgs | ReasonArgs | PaidArgs


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


# --- names ------------------------------------------------------------------

#: Canonical English name -> the names that also invoke it (French, with and
#: without accents).
ALIASES: Mapping[str, tuple[str, ...]] = {
    "help": ("aide",),
    "status": ("statut",),
    "register": ("inscription",),
    "bid": ("soumission",),
    "withdraw": ("retirer",),
    "extend": ("prolonger",),
    "cancel": ("annuler",),
    "score": ("note",),
    "award": ("attribuer",),
    "approve": ("approuver",),
    "reject": ("rejeter",),
    "paid": ("paye", "payé"),
    "terminate": ("resilier", "résilier"),
}

COMMAND_NAMES: tuple[str, ...] = tuple(ALIASES)

_CANONICAL: dict[str, str] = {
    alias: name for name, aliases in ALIASES.items() for alias in (name, *aliases)
}

#: The argument type of each valid command.
ARGS_TYPES: Mapping[str, type] = {
    "help": NoArgs,
    "status": NoArgs,
    "register": NoArgs,
    "withdraw": NoArgs,
    "approve": NoArgs,
    "bid": BidArgs,
    "score": ScoreArgs,
    "award": AwardArgs,
    "extend": ExtendArgs,
    "cancel": ReasonArgs,
    "reject": ReasonArgs,
    "terminate": ReasonArgs,
    "paid": PaidArgs,
}

#: Every ``Command.error`` code (``templates/`` covers each).
COMMAND_ERROR_CODES: tuple[str, ...] = (
    "missing_amount",
    "amount_unreadable",
    "amount_too_precise",
    "missing_user",
    "user_unreadable",
    "missing_score",
    "score_unreadable",
    "score_out_of_range",
    "missing_date",
    "missing_reason",
    "missing_payment_id",
    "payment_id_unreadable",
    "missing_reference",
)

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

# A GitHub login: letters, digits and single inner hyphens, at most 39.
LOGIN_RE = re.compile(
    r"""
    ^@?
    (?P<login>
        [A-Za-z0-9]
        (?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}
    )
    $
    """,
    re.VERBOSE,
)

# A score: 0 to 100, also written out of 100 ("85/100"). Digits are ASCII
# only; the range is checked after the match.
SCORE_RE = re.compile(
    r"""
    ^(?P<digits>[0-9]+)(?:/100)?$
    """,
    re.VERBOSE,
)

# A payment id as shown in the bot's messages (#12) or bare (12).
PAYMENT_ID_RE = re.compile(
    r"""
    ^\#?(?P<digits>[0-9]{1,18})$
    """,
    re.VERBOSE,
)

# Characters that may end a typed amount without belonging to it:
# "/bid $9,500. I will ..." or "/bid 9500, covering ...".
TRAILING_PUNCTUATION = ".,;:!)"

# A /bid amount is short; longer prefixes of the line are not tried, so a
# megabyte-long line costs nothing.
MAX_AMOUNT_PREFIX = 64

MAX_QUOTED_CHARS = 100


def _quoted(text: str) -> str:
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"


def _split_first(text: str) -> tuple[str, str]:
    """The first whitespace-separated word of ``text`` and the rest, stripped."""
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def _strip_blank_lines(lines: list[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


# --- arguments --------------------------------------------------------------

_Parsed = tuple[CommandArgs | None, str | None, dict[str, Any]]


def _failure(code: str, **params: Any) -> _Parsed:
    return None, code, params


def _amount_prefix(text: str) -> tuple[Decimal, str] | AmountError:
    """The longest prefix of ``text`` that is an amount, and what follows it.

    A prefix ends at whitespace or the end of the text, so "9 500,00 $ Je
    vais" reads 9500.00 and "9 500 because" reads 9500 ("9 500" is a French
    grouping, "9 500 because" is not an amount). A trailing punctuation mark
    is not part of the amount ("$9,500. I will"). When a longer prefix is a
    number with too many decimals, that is the answer: "9 500,123" must not
    silently become a bid of 9.
    """
    ends = [i for i in range(1, min(len(text), MAX_AMOUNT_PREFIX) + 1)
            if i == len(text) or text[i].isspace()]
    first_error: AmountError | None = None
    for end in reversed(ends):
        candidate = text[:end]
        for trimmed in dict.fromkeys((candidate, candidate.rstrip(TRAILING_PUNCTUATION))):
            if not trimmed:
                continue
            try:
                return parse_amount(trimmed), text[end:]
            except AmountError as error:
                if error.code == "amount_too_precise":
                    return error
                first_error = error
    if first_error is None:
        first_error = AmountError("amount_unreadable", text="")
    word, _ = _split_first(text)
    return AmountError(first_error.code, text=_quoted(word))


def _bid(rest: str, following: list[str]) -> _Parsed:
    text = rest.strip()
    if not text:
        return _failure("missing_amount")
    found = _amount_prefix(text)
    if isinstance(found, AmountError):
        return _failure(found.code, **found.params)
    amount, after = found
    proposal = _strip_blank_lines([after.strip(), *following])
    return BidArgs(amount=amount, proposal=proposal), None, {}


def _login(word: str) -> tuple[str | None, str | None, dict[str, Any]]:
    if not word:
        return None, "missing_user", {}
    match = LOGIN_RE.match(word)
    if match is None:
        return None, "user_unreadable", {"text": _quoted(word)}
    return match["login"], None, {}


def _score(rest: str) -> _Parsed:
    word, after = _split_first(rest)
    user, code, params = _login(word)
    if user is None:
        return None, code, params
    score_word, note = _split_first(after)
    if not score_word:
        return _failure("missing_score", user=user)
    match = SCORE_RE.match(score_word)
    if match is None:
        return _failure("score_unreadable", user=user, text=_quoted(score_word))
    digits = match["digits"].lstrip("0") or "0"
    # Compare the digit count before int(): a 5,000-digit "score" must not
    # reach int()'s conversion limit.
    if len(digits) > 3 or int(digits) > 100:
        return _failure("score_out_of_range", user=user, text=_quoted(score_word))
    return ScoreArgs(user=user, score=int(digits), note=note), None, {}


def _award(rest: str) -> _Parsed:
    word, reason = _split_first(rest)
    user, code, params = _login(word)
    if user is None:
        return None, code, params
    return AwardArgs(user=user, reason=reason), None, {}


def _extend(rest: str) -> _Parsed:
    date_text = rest.strip()
    if not date_text:
        return _failure("missing_date")
    return ExtendArgs(date_text=date_text), None, {}


def _reason(rest: str) -> _Parsed:
    reason = rest.strip()
    if not reason:
        return _failure("missing_reason")
    return ReasonArgs(reason=reason), None, {}


def _paid(rest: str) -> _Parsed:
    word, reference = _split_first(rest)
    if not word:
        return _failure("missing_payment_id")
    match = PAYMENT_ID_RE.match(word)
    if match is None:
        return _failure("payment_id_unreadable", text=_quoted(word))
    payment_id = int(match["digits"])
    if not reference:
        return _failure("missing_reference", payment_id=payment_id)
    return PaidArgs(payment_id=payment_id, reference=reference), None, {}


def _arguments(name: str, rest: str, following: list[str]) -> _Parsed:
    if name == "bid":
        return _bid(rest, following)
    if name == "score":
        return _score(rest)
    if name == "award":
        return _award(rest)
    if name == "extend":
        return _extend(rest)
    if name in ("cancel", "reject", "terminate"):
        return _reason(rest)
    if name == "paid":
        return _paid(rest)
    return NoArgs(), None, {}


# --- the comment ------------------------------------------------------------


def parse_commands(body: str | None) -> list[Command]:
    """Every command in a comment body, in order. Never raises."""
    if not isinstance(body, str) or not body:
        return []
    lines = markdown.lines(body)
    commands: list[Command] = []
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
        match = COMMAND_LINE_RE.match(line)
        if match is None:
            continue
        alias = unicodedata.normalize("NFC", match["name"]).lower()
        name = _CANONICAL.get(alias)
        if name is None:
            continue  # an unknown /word, or a path such as /usr/bin
        following = lines[index + 1:] if name == "bid" else []
        args, error, params = _arguments(name, match["rest"], following)
        commands.append(Command(
            name=name,
            alias=alias,
            line=line.strip(),
            args=args,
            error=error,
            error_params=params,
        ))
        if name == "bid":
            break  # the proposal is the rest of the comment
    return commands


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
    return f"/{cmd.name}"


def is_bot(user: Mapping[str, Any] | None) -> bool:
    """Whether a GitHub user object is a bot (the app itself included)."""
    if not isinstance(user, Mapping):
        return False
    login = user.get("login")
    return user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))
