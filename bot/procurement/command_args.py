"""The arguments of comment commands: one type per shape, and how each is read.

Reading never raises: a missing or unreadable argument comes back as an error
code (``COMMAND_ERROR_CODES``, each with words in ``templates/``) and its
parameters. Which command takes which type is the command table's business
(``bot.stages.command_table``); this module knows only the shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Mapping

from bot.procurement.money import AmountError, parse_amount

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
    # Tax words written right after the amount ("+ HST", "plus taxes", "HT"): the
    # amount is then not the total including tax (refused while amounts include tax).
    tax_words: str = ""


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


@dataclass(frozen=True)
class ApproveArgs:
    """``/approve [JUSTIFICATION]``: the rest of the line, kept with the approval.

    Required when contract splitting is flagged (and, issue 12, when the
    approver also recommended the award); otherwise optional.
    """

    justification: str = ""


@dataclass(frozen=True)
class CommitArgs:
    """``/commit REFERENCE``: the funds commitment's reference in the department's system."""

    reference: str


@dataclass(frozen=True)
class CertifyArgs:
    """``/certify PAYMENT_ID``: the id as ``12`` or ``#12``."""

    payment_id: int


CommandArgs = NoArgs | BidArgs | ScoreArgs | AwardArgs | ExtendArgs | ReasonArgs | PaidArgs | ApproveArgs | CommitArgs | CertifyArgs


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


# Words after an amount that say it does not include tax, in English and French.
TAX_WORDS_RE = re.compile(
    r"""
    ^\s*
    (?:
        (?:\+|plus|and|et)?\s*(?:applicable\s+)?(?:hst|gst|pst|qst|tps|tvh|tvq|tax(?:es)?)\b
      | ht\b
      | (?:before|excluding|excl\.?|pre|without|w/o)[\s-]*tax(?:es)?\b
      | (?:avant|hors|sans)\s+(?:les\s+)?taxes?\b
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _bid(rest: str, following: list[str]) -> _Parsed:
    text = rest.strip()
    if not text:
        return _failure("missing_amount")
    found = _amount_prefix(text)
    if isinstance(found, AmountError):
        return _failure(found.code, **found.params)
    amount, after = found
    proposal = _strip_blank_lines([after.strip(), *following])
    tax = TAX_WORDS_RE.match(after)
    return BidArgs(amount=amount, proposal=proposal, tax_words=tax.group(0).strip() if tax else ""), None, {}


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


def _approve(rest: str) -> _Parsed:
    return ApproveArgs(justification=" ".join(rest.split())), None, {}


def _commit(rest: str) -> _Parsed:
    reference = rest.strip()
    if not reference:
        return _failure("missing_reference")
    return CommitArgs(reference=reference), None, {}


def _payment_id(rest: str) -> tuple[int | None, str | None, dict[str, Any]]:
    word, _ = _split_first(rest)
    if not word:
        return None, "missing_payment_id", {}
    match = PAYMENT_ID_RE.match(word)
    if match is None:
        return None, "payment_id_unreadable", {"text": _quoted(word)}
    return int(match["digits"]), None, {}


def _certify(rest: str) -> _Parsed:
    payment_id, code, params = _payment_id(rest)
    if payment_id is None:
        return None, code, params
    return CertifyArgs(payment_id=payment_id), None, {}


def _no_args(rest: str, following: list[str]) -> _Parsed:
    return NoArgs(), None, {}


#: How each argument type is read from the rest of the line (and, for a bid,
#: the lines after it).
READERS: Mapping[type, Callable[[str, list[str]], _Parsed]] = {
    NoArgs: _no_args,
    BidArgs: _bid,
    ScoreArgs: lambda rest, _following: _score(rest),
    AwardArgs: lambda rest, _following: _award(rest),
    ExtendArgs: lambda rest, _following: _extend(rest),
    ReasonArgs: lambda rest, _following: _reason(rest),
    PaidArgs: lambda rest, _following: _paid(rest),
    ApproveArgs: lambda rest, _following: _approve(rest),
    CommitArgs: lambda rest, _following: _commit(rest),
    CertifyArgs: lambda rest, _following: _certify(rest),
}
