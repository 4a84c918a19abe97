"""Exact CAD amounts: reading what people type, writing it for each language.

Money is :class:`decimal.Decimal` with two places, never a float. People
type amounts the English way (``$9,500.00``) or the French-Canadian way
(``9 500,00 $``, often with a no-break space); both read to the same value.

Nothing here knows a word of English or French prose: a failure is an
:class:`AmountError` with a stable ``code`` that ``templates/`` turns into a
message.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = [
    "AMOUNT_ERROR_CODES",
    "CENT",
    "AmountError",
    "format_amount",
    "parse_amount",
]

CENT = Decimal("0.01")

#: Every ``AmountError.code`` this module raises (``templates/`` covers each).
AMOUNT_ERROR_CODES = ("amount_unreadable", "amount_too_precise")

# Amounts above this many whole-dollar digits are nonsense for a $9,999 program
# and would overflow Decimal's default 28-digit context when quantized.
MAX_INTEGER_DIGITS = 15

# Longest text worth reading as an amount: "-CA$ 99 999 999 999 999,99 CAD" is
# far shorter; anything longer is refused before any pattern runs on it.
MAX_AMOUNT_CHARS = 64

# Longest text kept in an error's params: the message quotes it back to the
# user, and a megabyte of pasted text has no place in a reply.
MAX_QUOTED_CHARS = 100

NBSP = "\u00a0"  # NO-BREAK SPACE: French thousands separator and before "$"
NNBSP = "\u202f"  # NARROW NO-BREAK SPACE: what some French keyboards/locales emit

# The outer shape: an optional minus and currency marker on either side of a
# number. The number itself is only roughly delimited here (digits and the
# three kinds of separators); which separator means what is decided by the
# stricter patterns below, so that each rule has one place.
AMOUNT_RE = re.compile(
    r"""
    ^
    # Only horizontal spaces may sit between the parts: an amount is one line.
    (?P<sign>[-\u2212])?[\x20\t\u00a0\u202f]*      # hyphen-minus or U+2212 MINUS SIGN
    (?:(?:CA\$|C\$|CAD|\$)[\x20\t\u00a0\u202f]*){0,2}  # before: $9500, CAD 9500, CAD $9500
    (?P<sign_after>[-\u2212])?[\x20\t\u00a0\u202f]*  # $-9500 is written too
    (?P<number>
        [0-9]                          # a number starts with a digit ...
        (?:[0-9,.\x20\u00a0\u202f]*[0-9])?   # ... and ends with one
    )
    (?:[\x20\t\u00a0\u202f]*(?:CA\$|C\$|CAD|\$)){0,2}  # after: 9500 $, 9 500,00 $ CAD
    [\x20\t\u00a0\u202f]*
    $
    """,
    re.VERBOSE | re.IGNORECASE,
)

# English grouping: commas between groups of exactly three digits, a dot for
# the cents. Tried first so that a lone comma before three digits ("1,234")
# is a thousands separator, as the rule for a lone comma says.
EN_GROUPED_RE = re.compile(
    r"""
    ^
    (?P<whole>[0-9]{1,3}(?:,[0-9]{3})+)
    (?:\.(?P<fraction>[0-9]+))?
    $
    """,
    re.VERBOSE,
)

# French/Canadian grouping: a space (plain, no-break or narrow no-break)
# between groups of exactly three digits, a comma (or a dot, which some
# people mix in) for the cents. "9 500" is 9500 only because "500" is three
# digits; "9500 123" is not an amount.
SPACE_GROUPED_RE = re.compile(
    r"""
    ^
    (?P<whole>[0-9]{1,3}(?:[\x20\u00a0\u202f][0-9]{3})+)
    (?:[.,](?P<fraction>[0-9]+))?
    $
    """,
    re.VERBOSE,
)

# No grouping: "9500", "9500.5", "9500,5". The separator's meaning is checked
# after the match: a comma followed by exactly three digits would be a
# thousands separator in a misplaced group ("9500,123"), so it is unreadable,
# not 9500.123.
PLAIN_RE = re.compile(
    r"""
    ^
    (?P<whole>[0-9]+)
    (?:(?P<separator>[.,])(?P<fraction>[0-9]+))?
    $
    """,
    re.VERBOSE,
)


class AmountError(ValueError):
    """An amount that cannot be read; ``code`` and ``params`` feed the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, Any] = params


def _quoted(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_QUOTED_CHARS:
        return text[:MAX_QUOTED_CHARS] + "…"
    return text


def _whole_and_fraction(number: str, original: str) -> tuple[str, str]:
    """Split the number part into its digits before and after the decimal mark."""
    for pattern in (EN_GROUPED_RE, SPACE_GROUPED_RE):
        match = pattern.match(number)
        if match:
            whole = re.sub(r"[^0-9]", "", match["whole"])
            return whole, match["fraction"] or ""
    match = PLAIN_RE.match(number)
    if match is None:
        raise AmountError("amount_unreadable", text=_quoted(original))
    fraction = match["fraction"] or ""
    if match["separator"] == "," and len(fraction) == 3:
        # A thousands separator in the wrong place ("9500,123"): guessing
        # either meaning could cost someone a thousand times the price.
        raise AmountError("amount_unreadable", text=_quoted(original))
    return match["whole"], fraction


def parse_amount(text: str) -> Decimal:
    """Read an English or French-Canadian amount of CAD into an exact Decimal.

    Accepts ``9500``, ``9,500.00``, ``$9500``, ``$9,500``, ``9 500,00 $``,
    ``9 500 $``, ``9500,5`` (9500.50), with ``$``, ``CA$``, ``C$`` or ``CAD``
    before or after and any surrounding whitespace. Spaces between thousands
    may be plain, no-break (U+00A0) or narrow no-break (U+202F).

    The result is quantized to cents. Zero and negative amounts are returned
    as read: whether an amount must be positive is the caller's rule.

    Raises only :class:`AmountError` (``amount_unreadable`` or
    ``amount_too_precise``, with ``params["text"]``), whatever the input.
    """
    if not isinstance(text, str):
        raise AmountError("amount_unreadable", text="")
    stripped = text.strip()
    if len(stripped) > MAX_AMOUNT_CHARS:
        raise AmountError("amount_unreadable", text=_quoted(text))
    match = AMOUNT_RE.match(stripped)
    if match is None or (match["sign"] and match["sign_after"]):
        raise AmountError("amount_unreadable", text=_quoted(text))
    whole, fraction = _whole_and_fraction(match["number"], text)
    if len(fraction) > 2:
        raise AmountError("amount_too_precise", text=_quoted(text))
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise AmountError("amount_unreadable", text=_quoted(text))
    try:
        amount = Decimal(f"{whole}.{fraction or '0'}").quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the patterns above rule it out
        raise AmountError("amount_unreadable", text=_quoted(text)) from None
    if (match["sign"] or match["sign_after"]) and amount:
        amount = -amount  # never a "-0.00"
    return amount


def _language(lang: str) -> str:
    code = lang.strip().lower()
    if code.startswith("fr"):
        return "fr"
    if code.startswith("en"):
        return "en"
    raise ValueError(f"unsupported language {lang!r}")


def format_amount(amount: Decimal, lang: str) -> str:
    """Write an amount for a reader of ``lang`` ("en" or "fr", or "en-CA", "fr-CA").

    English: ``$9,500.00``. French: ``9 500,00 $`` with U+00A0 NO-BREAK SPACE
    between thousands and before ``$`` so that the amount never wraps.
    Amounts with more than two places are rounded half-up to the cent.
    """
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if not amount.is_finite():
        raise ValueError("amount must be finite")
    language = _language(lang)
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    negative = cents < 0
    grouped = f"{abs(cents):,.2f}"  # "9,500.00"; Decimal formats exactly
    sign = "-" if negative else ""
    if language == "en":
        return f"{sign}${grouped}"
    whole, fraction = grouped.split(".")
    return f"{sign}{whole.replace(',', NBSP)},{fraction}{NBSP}$"
