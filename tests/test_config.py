"""Repository configuration, .github/devex.yml (bot.procurement.config)."""

from datetime import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.procurement.config import CONFIG_PROBLEM_CODES, PROGRAM_VALUE_CAP, ConfigError, RepoConfig, parse_config


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


@pytest.mark.parametrize("text", [None, "", "   \n", "# only a comment\n", "---\n", "{}"])
def test_no_file_or_an_empty_one_gives_the_defaults(text: str | None) -> None:
    config = parse_config(text)
    assert config == RepoConfig()
    assert config.label == "opportunity"
    assert config.value_cap == Decimal("9999.00")
    assert config.currency == "CAD"
    assert config.amounts_include_tax is True
    assert config.timezone == "America/Toronto"
    assert config.zone == ZoneInfo("America/Toronto")
    assert config.deadline_time == time(14, 0)
    assert config.bidding == "sealed"
    assert (config.issuers, config.evaluators, config.contract_officers) == ([], [], [])
    assert config.review_repository is None
    assert config.payment_terms_days == 30
    assert config.terms_url == "https://github.com/canada-ca/devex-bot/blob/main/docs/terms.md"
    assert config.terms_version == "2026-11"


def test_every_key_has_a_description() -> None:
    for name, field in RepoConfig.model_fields.items():
        assert field.description, name


def test_a_full_file() -> None:
    config = parse_config(
        """
label: micro-contract
value_cap: 5000.00
currency: cad
amounts_include_tax: false
timezone: America/Vancouver
deadline_time: 16:30
bidding: open
issuers: ["@alice", bob]
evaluators:
  - carol
  - "@canada-ca/evaluators"
contract_officers: ["@dana", "@canada-ca/procurement"]
review_repository: canada-ca/devex-reviews
payment_terms_days: 45
terms_url: https://example.gc.ca/terms
terms_version: 2027-01
"""
    )
    assert config.label == "micro-contract"
    assert config.value_cap == Decimal("5000.00")
    assert config.currency == "CAD"
    assert config.amounts_include_tax is False
    assert config.timezone == "America/Vancouver"
    assert config.deadline_time == time(16, 30)
    assert config.bidding == "open"
    assert config.issuers == ["alice", "bob"]
    assert config.issuer_logins == ["alice", "bob"] and config.issuer_teams == []
    assert config.evaluators == ["carol", "@canada-ca/evaluators"]
    assert config.evaluator_logins == ["carol"]
    assert config.evaluator_teams == [("canada-ca", "evaluators")]
    assert config.contract_officer_logins == ["dana"]
    assert config.contract_officer_teams == [("canada-ca", "procurement")]
    assert config.review_repository == "canada-ca/devex-reviews"
    assert config.payment_terms_days == 45
    assert config.terms_url == "https://example.gc.ca/terms"
    assert config.terms_version == "2027-01"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # YAML 1.1 would read these as the integer 840 (base 60) and 570.
        ("deadline_time: 14:00", time(14, 0)),
        ("deadline_time: 9:30", time(9, 30)),
        ("deadline_time: '14 h 00'", time(14, 0)),
    ],
)
def test_deadline_time_unquoted(line: str, expected: time) -> None:
    assert parse_config(line).deadline_time == expected


def test_yaml_1_1_surprises_do_not_happen() -> None:
    config = parse_config("payment_terms_days: 030\nissuers: [no, on, yes]\nterms_version: 2026-11-01")
    assert config.payment_terms_days == 30  # not octal 24
    assert config.issuers == ["no", "on", "yes"]  # logins, not booleans
    assert config.terms_version == "2026-11-01"  # text, not a date


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1234.56", "1234.56"), ("'$1,234.56'", "1234.56"), ("'1 234,56 $'", "1234.56"), ("500", "500.00"), ("9999", "9999.00")],
)
def test_value_cap_is_read_exactly(value: str, expected: str) -> None:
    cap = parse_config(f"value_cap: {value}").value_cap
    assert cap == Decimal(expected) and cap.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("value_cap: 10000", [("value_cap", "value_cap_over_program_cap")]),
        ("value_cap: 9999.01", [("value_cap", "value_cap_over_program_cap")]),
        ("value_cap: 0", [("value_cap", "value_cap_not_positive")]),
        ("value_cap: -5", [("value_cap", "value_cap_not_positive")]),
        ("value_cap: 1.001", [("value_cap", "amount_too_precise")]),
        ("value_cap: lots", [("value_cap", "amount_unreadable")]),
        ("value_cap: true", [("value_cap", "amount_unreadable")]),
        ("value_cap:", [("value_cap", "empty_value")]),
        ("currency: USD", [("currency", "currency_not_cad")]),
        ("timezone: Mars/Olympus", [("timezone", "timezone_unknown")]),
        ("timezone: localtime", [("timezone", "timezone_unknown")]),
        ("timezone: ../../etc/passwd", [("timezone", "timezone_unknown")]),
        ("deadline_time: 25:00", [("deadline_time", "time_unreadable")]),
        ("deadline_time: 14", [("deadline_time", "time_unreadable")]),
        ("bidding: blind", [("bidding", "bidding_unknown")]),
        ("amounts_include_tax: yes", [("amounts_include_tax", "not_a_boolean")]),
        ("issuers: {alice: 1}", [("issuers", "not_a_list")]),
        ("issuers: [alice, -bad, 3, '@org/']", [("issuers[1]", "login_unreadable"), ("issuers[2]", "login_unreadable"), ("issuers[3]", "login_unreadable")]),
        ("review_repository: just-a-name", [("review_repository", "repository_unreadable")]),
        ("review_repository: owner/..", [("review_repository", "repository_unreadable")]),
        ("payment_terms_days: -1", [("payment_terms_days", "out_of_range")]),
        ("payment_terms_days: '30'", [("payment_terms_days", "not_an_integer")]),
        ("payment_terms_days: 1.5", [("payment_terms_days", "not_an_integer")]),
        ("payment_terms_days: true", [("payment_terms_days", "not_an_integer")]),
        ("terms_url: ftp://example.com/terms", [("terms_url", "url_unreadable")]),
        ("terms_version: ''", [("terms_version", "empty_value")]),
        ("label: ''", [("label", "empty_value")]),
        ("label: " + "x" * 51, [("label", "label_too_long")]),
        ("label: [a]", [("label", "not_text")]),
        ("labels: opportunity", [("labels", "unknown_key")]),
        ("1: 2", [("1", "unknown_key")]),
    ],
)
def test_each_invalid_key_is_named(text: str, expected: list[tuple[str, str]]) -> None:
    assert problems(text) == expected


def test_every_problem_is_reported_at_once() -> None:
    found = problems("currency: EUR\nbidding: auction\nunknown: 1\npayment_terms_days: 400")
    assert sorted(found) == [
        ("bidding", "bidding_unknown"),
        ("currency", "currency_not_cad"),
        ("payment_terms_days", "out_of_range"),
        ("unknown", "unknown_key"),
    ]


def test_invalid_yaml_names_the_file_and_the_place() -> None:
    assert problems("label: [unclosed\nbidding: open") == [("(file)", "invalid_yaml (line 2, column 8)")]
    assert problems("\tlabel: x") [0][0] == "(file)"


@pytest.mark.parametrize("text", ["- a\n- b", "just text", "42"])
def test_a_file_that_is_not_a_mapping(text: str) -> None:
    assert problems(text) == [("(file)", "not_a_mapping")]


def test_a_key_given_twice_is_refused() -> None:
    assert problems("label: a\nbidding: open\nlabel: b") == [("label", "duplicate_key")]


def test_config_error_is_a_value_error_with_a_readable_text() -> None:
    error = ConfigError([("label", "empty_value"), ("(file)", "not_a_mapping")])
    assert isinstance(error, ValueError)
    assert str(error) == "label: empty_value; (file): not_a_mapping"


def test_config_is_frozen() -> None:
    config = parse_config(None)
    with pytest.raises(ValidationError):
        config.label = "x"  # type: ignore[misc]


def test_direct_construction_validates_too() -> None:
    assert RepoConfig(value_cap="$500", deadline_time="9:00").value_cap == Decimal("500.00")
    with pytest.raises(ValidationError):
        RepoConfig(value_cap=PROGRAM_VALUE_CAP + 1)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(
    st.text(),
    st.lists(st.sampled_from([
        "label: x", "value_cap: 9999.00", "value_cap: 1e9", "timezone: UTC", "deadline_time: 14:00",
        "issuers: [a]", "issuers:", "  - b", "bidding: open", "? [a]\n: b", "&x [1]", "*x", "!!python/object:os.system x",
        "payment_terms_days: 999999999999999999999", "- 1", "{", "label: &a x", "contract_officers: *a",
    ]), max_size=8).map("\n".join),
))
def test_parse_config_raises_only_config_error(text: str) -> None:
    try:
        config = parse_config(text)
    except ConfigError as error:
        assert error.problems
        for key, problem in error.problems:
            assert isinstance(key, str) and isinstance(problem, str)
    else:
        assert isinstance(config, RepoConfig)


def test_problem_codes_are_declared() -> None:
    declared = set(CONFIG_PROBLEM_CODES)
    for text in ["a: [", "- 1", "label: a\nlabel: b", "x: 1", "label:", "label: [1]", "amounts_include_tax: 1",
                 "payment_terms_days: x", "issuers: 1", "payment_terms_days: 999", "label: " + "x" * 60,
                 "value_cap: x", "value_cap: 1.001", "value_cap: 0", "value_cap: 10000", "currency: X",
                 "timezone: X", "deadline_time: X", "bidding: X", "issuers: [-]", "review_repository: x",
                 "terms_url: x"]:
        for _, problem in problems(text):
            assert problem.split(" ")[0] in declared, problem
