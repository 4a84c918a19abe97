"""Reading and writing CAD amounts (bot.procurement.money)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.procurement.money import AMOUNT_ERROR_CODES, AmountError, format_amount, parse_amount

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9500", "9500.00"),
        ("9,500.00", "9500.00"),
        ("$9500", "9500.00"),
        ("$9,500", "9500.00"),
        ("9 500,00 $", "9500.00"),
        ("9 500 $", "9500.00"),
        ("9500,5", "9500.50"),
        ("9500.5", "9500.50"),
        (f"9{NBSP}500,00", "9500.00"),
        (f"9{NNBSP}500,00{NBSP}$", "9500.00"),
        (f"9{NBSP}500,00{NBSP}$", "9500.00"),
        ("CAD 9500", "9500.00"),
        ("9500 CAD", "9500.00"),
        ("9 500,00 $ CAD", "9500.00"),
        ("CA$9,500", "9500.00"),
        ("C$ 9500", "9500.00"),
        ("cad 12", "12.00"),
        ("  $9,500.00  \n", "9500.00"),
        ("1,234", "1234.00"),  # a lone comma before exactly 3 digits groups thousands
        ("1,23", "1.23"),  # a lone comma before 1-2 digits is the decimal mark
        ("0,5", "0.50"),
        ("1,234,567.89", "1234567.89"),
        ("1 234 567,89", "1234567.89"),
        ("0", "0.00"),
        ("0009500", "9500.00"),
    ],
)
def test_parse_amount_reads_english_and_french_formats(text: str, expected: str) -> None:
    amount = parse_amount(text)
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == -2  # always quantized to cents


@pytest.mark.parametrize(("text", "expected"), [("-5", "-5.00"), ("-$5", "-5.00"), ("$-5", "-5.00"), ("-0", "0.00")])
def test_parse_amount_returns_zero_and_negative_values_for_callers_to_judge(text: str, expected: str) -> None:
    amount = parse_amount(text)
    assert amount == Decimal(expected)
    assert not (amount == 0 and amount.is_signed())  # never "-0.00"


@pytest.mark.parametrize("text", ["9500.123", "9,500.001", "9 500,1234", "0.001", "9500,1234"])
def test_more_than_two_decimal_places_is_too_precise(text: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert caught.value.code == "amount_too_precise"
    assert caught.value.params == {"text": text}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "$",
        "CAD",
        "abc",
        "9500,123",  # a thousands comma in the wrong place: neither 9500.123 nor 9,500,123
        "95,00.00",
        "9  500",
        "9500 123",  # space grouping needs a first group of 1-3 digits
        "9 50",
        "9.500,00",  # European dot grouping is not a Canadian format
        "1e5",
        "nan",
        "Infinity",
        "9500.",
        ".50",
        "9500\n$",  # an amount is on one line
        "--5",
        "-$-5",
        "١٢٣",  # non-ASCII digits
        "9500 USD",
        "1" * 16,
        "9" * 10_000,
    ],
)
def test_unreadable_amounts(text: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert caught.value.code == "amount_unreadable"
    assert len(caught.value.params["text"]) <= 101


def test_error_codes_are_declared() -> None:
    assert set(AMOUNT_ERROR_CODES) == {"amount_unreadable", "amount_too_precise"}
    error = AmountError("amount_unreadable", text="x")
    assert isinstance(error, ValueError)
    assert error.params == {"text": "x"}


def test_format_amount_english() -> None:
    assert format_amount(Decimal("9500"), "en") == "$9,500.00"
    assert format_amount(Decimal("0.5"), "en") == "$0.50"
    assert format_amount(Decimal("1234567.891"), "en-CA") == "$1,234,567.89"
    assert format_amount(Decimal("-12.5"), "en") == "-$12.50"


def test_format_amount_french_uses_no_break_spaces() -> None:
    assert format_amount(Decimal("9500"), "fr") == f"9{NBSP}500,00{NBSP}$"
    assert format_amount(Decimal("999"), "fr-CA") == f"999,00{NBSP}$"
    assert format_amount(Decimal("1234567.8"), "fr") == f"1{NBSP}234{NBSP}567,80{NBSP}$"
    assert format_amount(Decimal("-0.001"), "fr") == f"0,00{NBSP}$"


def test_format_amount_refuses_unknown_languages_and_non_decimals() -> None:
    with pytest.raises(ValueError):
        format_amount(Decimal("1"), "de")
    with pytest.raises(TypeError):
        format_amount(1.5, "en")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_amount(Decimal("NaN"), "en")


CENTS = st.integers(min_value=0, max_value=9_999_999_999).map(lambda c: Decimal(c).scaleb(-2))


@settings(max_examples=200, deadline=None)
@given(amount=CENTS, lang=st.sampled_from(["en", "fr"]))
def test_format_then_parse_round_trips(amount: Decimal, lang: str) -> None:
    assert parse_amount(format_amount(amount, lang)) == amount


@settings(max_examples=200, deadline=None)
@given(amount=CENTS)
def test_hand_typed_french_with_any_space_reads_back(amount: Decimal) -> None:
    for space in (" ", NBSP, NNBSP):
        typed = format_amount(amount, "fr").replace(NBSP, space)
        assert parse_amount(typed) == amount


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_parse_amount_raises_only_amount_error(text: str) -> None:
    try:
        amount = parse_amount(text)
    except AmountError as error:
        assert error.code in AMOUNT_ERROR_CODES
    else:
        assert amount == amount.quantize(Decimal("0.01"))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="0123456789,. $-CAD\u00a0\u202f", max_size=30))
def test_parse_amount_on_amount_like_text_never_raises_anything_else(text: str) -> None:
    try:
        parse_amount(text)
    except AmountError as error:
        assert error.code in AMOUNT_ERROR_CODES
