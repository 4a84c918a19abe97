"""The comment-command grammar (bot.procurement.commands)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.github.users import is_bot
from bot.procurement.command_args import (
    COMMAND_ERROR_CODES,
    ApproveArgs,
    AwardArgs,
    BidArgs,
    CertifyArgs,
    CommitArgs,
    ExtendArgs,
    ApproveArgs,
    NoArgs,
    PaidArgs,
    ReasonArgs,
    ScoreArgs,
)
from bot.procurement.commands import Command, render_command
from bot.stages.command_table import ALIASES, ARGS_TYPES, parse_commands

NBSP = "\u00a0"


def names(body: str | None) -> list[str]:
    return [command.name for command in parse_commands(body)]


def only(body: str) -> Command:
    commands = parse_commands(body)
    assert len(commands) == 1, commands
    return commands[0]


# --- where commands are found --------------------------------------------------


def test_several_commands_per_comment_in_order() -> None:
    body = "Thanks!\n/status\nsome text\n/help\n/register"
    assert names(body) == ["status", "help", "register"]


def test_a_command_must_start_its_line() -> None:
    assert names("please run /status now") == []
    assert names("text /approve") == []


def test_up_to_three_leading_spaces() -> None:
    assert names("   /status") == ["status"]
    assert names("    /status") == []  # four spaces: an indented code block
    assert names("\t/status") == []


def test_windows_and_old_mac_line_endings() -> None:
    assert names("hello\r\n/status\r\n/help\r\n") == ["status", "help"]
    assert names("hello\r/status\r/help") == ["status", "help"]
    command = only("/cancel Budget cut\r\n")
    assert command.args == ReasonArgs(reason="Budget cut")


def test_commands_inside_fenced_code_are_ignored() -> None:
    body = "```\n/approve\n```\n/status\n~~~python\n/help\n~~~\n/register"
    assert names(body) == ["status", "register"]


def test_fence_needs_the_same_character_and_at_least_its_length_to_close() -> None:
    body = "````md\n```\n/approve\n~~~~\n/approve\n````\n/status"
    assert names(body) == ["status"]


def test_fence_with_info_string_and_indent() -> None:
    assert names("  ```bash\n/approve\n  ```\n/status") == ["status"]


def test_inline_backticks_do_not_open_a_fence() -> None:
    assert names("```not a fence```\n/status") == ["status"]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert names("/help\n```\n/approve\n/status") == ["help"]


def test_quoted_lines_are_ignored() -> None:
    body = "> /approve\n>/approve\n   > /approve\n> > /approve\n/status"
    assert names(body) == ["status"]


def test_quoted_fence_does_not_hide_what_follows() -> None:
    assert names("> ```\n/status") == ["status"]


def test_commands_in_html_comments_are_ignored() -> None:
    assert names("<!--\n/approve\n-->\n/status") == ["status"]
    assert names("<!-- hidden -->\n/status") == ["status"]
    assert names("<!-- never closed\n/approve") == []


def test_unknown_words_and_paths_are_ignored() -> None:
    assert parse_commands("/foo\n/usr/bin/env python\n/lgtm\n/bid:9500\n/9500\n/ status") == []


def test_name_must_end_at_whitespace() -> None:
    assert names("/statusfoo\n/status.") == []
    assert names(f"/status{NBSP}now") == ["status"]


@pytest.mark.parametrize(("typed", "name"), [(alias, name) for name, aliases in ALIASES.items() for alias in (name, *aliases)])
def test_every_english_and_french_name(typed: str, name: str) -> None:
    args = {"bid": " 10", "score": " @a 1", "award": " @a", "extend": " 2026-12-01",
            "cancel": " x", "reject": " x", "terminate": " x", "paid": " 1 x", "commit": " x", "certify": " 1", "accept": " x"}.get(name, "")
    for variant in (typed, typed.upper(), typed.capitalize()):
        command = only(f"/{variant}{args}")
        assert command.name == name
        assert command.alias == typed.lower()
        assert command.error is None
        assert isinstance(command.args, ARGS_TYPES[name])


def test_french_names_with_and_without_accents() -> None:
    assert only("/payé 3 VIR-1").alias == "payé"
    assert only("/paye 3 VIR-1").name == "paid"
    assert only("/RÉSILIER motif").name == "terminate"
    assert only("/resilier motif").name == "terminate"
    # é typed as e + COMBINING ACUTE ACCENT reads the same
    assert only("/pay\u0065\u0301 3 VIR-1").alias == "payé"


def test_line_is_the_raw_command_line_stripped() -> None:
    assert only("  /Cancel   Out of budget  \nmore").line == "/Cancel   Out of budget"


@pytest.mark.parametrize("body", [None, "", "\n\n", "just text"])
def test_no_commands(body: str | None) -> None:
    assert parse_commands(body) == []


def test_no_argument_commands_ignore_trailing_text() -> None:
    assert only("/withdraw please").args == NoArgs()


def test_approve_keeps_its_justification() -> None:
    assert only("/approve").args == ApproveArgs("")
    assert only("/approve LGTM").args == ApproveArgs("LGTM")
    assert only("/approuver   Besoins distincts  ").args == ApproveArgs("Besoins distincts")


def test_commit_and_certify() -> None:
    assert only("/commit FC-2026-0117").args == CommitArgs("FC-2026-0117")
    assert only("/engager FC 17").args == CommitArgs("FC 17")
    assert only("/commit").error == "missing_reference"
    assert only("/certify #3").args == CertifyArgs(3)
    assert only("/certifier 3 merci").args == CertifyArgs(3)
    assert only("/certify").error == "missing_payment_id"
    assert (only("/certify three").error, only("/certify three").error_params) == ("payment_id_unreadable", {"text": "three"})
    assert only("/withdraw please").args == NoArgs()


# --- /bid ---------------------------------------------------------------------


def test_bid_amount_and_proposal_on_the_same_line() -> None:
    command = only("/bid 9500 I will build it in two weeks.")
    assert command.args == BidArgs(amount=Decimal("9500.00"), proposal="I will build it in two weeks.")


def test_bid_proposal_on_following_lines() -> None:
    command = only("/bid $9,500.00\nI will\n\nbuild it.\n\n")
    assert command.args == BidArgs(amount=Decimal("9500.00"), proposal="I will\n\nbuild it.")


def test_bid_swallows_the_rest_of_the_comment_including_command_lines() -> None:
    body = "/status\n/bid 800\nMy plan:\n/approve\n```\n/withdraw\n```\n> quoted\n"
    commands = parse_commands(body)
    assert [c.name for c in commands] == ["status", "bid"]
    assert commands[1].args == BidArgs(
        amount=Decimal("800.00"), proposal="My plan:\n/approve\n```\n/withdraw\n```\n> quoted"
    )


def test_french_bid_with_spaces_in_the_amount() -> None:
    command = only("/soumission 9 500,00 $ Je vais livrer\nen deux semaines.")
    assert command.alias == "soumission"
    assert command.args == BidArgs(amount=Decimal("9500.00"), proposal="Je vais livrer\nen deux semaines.")
    command = only(f"/soumission 9{NBSP}500,00{NBSP}$\nJe vais")
    assert command.args == BidArgs(amount=Decimal("9500.00"), proposal="Je vais")


@pytest.mark.parametrize(
    ("line", "amount", "proposal"),
    [
        ("/bid 9 500 because", "9500", "because"),  # "500" is 3 digits: a group
        ("/bid 9 50 because", "9", "50 because"),  # "50" is not a group
        ("/bid 9500 123 tests", "9500", "123 tests"),  # no 4-digit leading group
        ("/bid 9500,5 à livrer", "9500.50", "à livrer"),
        ("/bid $9,500. I will", "9500", "I will"),
        ("/bid 9500, covering all", "9500", "covering all"),
        ("/bid 9500 CAD for everything", "9500", "for everything"),
        ("/bid CAD 9,500.00", "9500", ""),
        ("/bid 1,234 for it", "1234", "for it"),
        ("/bid 12,50 $ pour", "12.50", "pour"),
        ("/bid 0", "0", ""),  # zero and negative are the handler's rule to refuse
        ("/bid -5 x", "-5", "x"),
    ],
)
def test_bid_amount_is_the_longest_readable_prefix(line: str, amount: str, proposal: str) -> None:
    assert only(line).args == BidArgs(amount=Decimal(amount), proposal=proposal)


@pytest.mark.parametrize(
    ("body", "error", "params"),
    [
        ("/bid", "missing_amount", {}),
        ("/bid   \nMy proposal", "missing_amount", {}),
        ("/bid lots of money", "amount_unreadable", {"text": "lots"}),
        ("/bid 9500.123 text", "amount_too_precise", {"text": "9500.123"}),
        # A too-precise longer prefix must not fall back to a bid of 9.
        ("/bid 9 500,123 $ text", "amount_too_precise", {"text": "9 500,123 $"}),
    ],
)
def test_bid_errors(body: str, error: str, params: dict) -> None:
    command = only(body)
    assert (command.name, command.args, command.error, command.error_params) == ("bid", None, error, params)


def test_a_failed_bid_still_swallows_the_rest() -> None:
    assert names("/bid lots\n/withdraw") == ["bid"]


def test_bid_on_a_huge_line_is_quick_and_safe() -> None:
    command = only("/bid " + "9 " * 200_000)
    assert command.args is not None and command.args.amount == Decimal("9.00")


# --- other arguments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ("/score @alice 85", ScoreArgs("alice", 85, "")),
        ("/score alice 85/100 Strong plan", ScoreArgs("alice", 85, "Strong plan")),
        ("/note @jean-luc 0 Hors sujet", ScoreArgs("jean-luc", 0, "Hors sujet")),
        ("/score @a 100", ScoreArgs("a", 100, "")),
        ("/score @a 007", ScoreArgs("a", 7, "")),
    ],
)
def test_score(line: str, args: ScoreArgs) -> None:
    command = only(line)
    assert command.name == "score" and command.args == args and command.error is None


@pytest.mark.parametrize(
    ("line", "error", "params"),
    [
        ("/score", "missing_user", {}),
        ("/score @alice", "missing_score", {"user": "alice"}),
        ("/score @alice great", "score_unreadable", {"user": "alice", "text": "great"}),
        ("/score @alice 85.5", "score_unreadable", {"user": "alice", "text": "85.5"}),
        ("/score @alice -1", "score_unreadable", {"user": "alice", "text": "-1"}),
        ("/score @alice 85/10", "score_unreadable", {"user": "alice", "text": "85/10"}),
        ("/score @alice 101", "score_out_of_range", {"user": "alice", "text": "101"}),
        ("/score @alice " + "9" * 5000, "score_out_of_range", {"user": "alice", "text": "9" * 100 + "…"}),
        ("/score @-alice 5", "user_unreadable", {"text": "@-alice"}),
        ("/score @al--ice 5", "user_unreadable", {"text": "@al--ice"}),
        ("/score @" + "a" * 40 + " 5", "user_unreadable", {"text": "@" + "a" * 40}),
        ("/score @dependabot[bot] 5", "user_unreadable", {"text": "@dependabot[bot]"}),
    ],
)
def test_score_errors(line: str, error: str, params: dict) -> None:
    command = only(line)
    assert (command.args, command.error, command.error_params) == (None, error, params)


def test_award() -> None:
    assert only("/award @bob").args == AwardArgs("bob", "")
    assert only("/attribuer @bob Meilleur rapport qualité-prix").args == AwardArgs(
        "bob", "Meilleur rapport qualité-prix"
    )
    assert only("/award").error == "missing_user"
    assert only("/award @").error == "user_unreadable"


def test_extend_keeps_the_date_as_typed() -> None:
    assert only("/extend 2026-12-15").args == ExtendArgs("2026-12-15")
    assert only("/prolonger `2026-12-15T14:00-05:00`").args == ExtendArgs("`2026-12-15T14:00-05:00`")
    assert only("/extend").error == "missing_date"


@pytest.mark.parametrize("name", ["cancel", "annuler", "reject", "rejeter", "terminate", "résilier"])
def test_reason_commands_require_a_reason(name: str) -> None:
    assert only(f"/{name} The budget was cut.\nMore text").args == ReasonArgs("The budget was cut.")
    command = only(f"/{name}   \nreason on next line does not count")
    assert (command.args, command.error) == (None, "missing_reason")


def test_paid() -> None:
    assert only("/paid #12 EFT-2026-0042").args == PaidArgs(12, "EFT-2026-0042")
    assert only("/payé 12 Virement 42").args == PaidArgs(12, "Virement 42")
    assert (only("/paid").error, only("/paid").error_params) == ("missing_payment_id", {})
    command = only("/paid #12")
    assert (command.error, command.error_params) == ("missing_reference", {"payment_id": 12})
    command = only("/paid twelve EFT")
    assert (command.error, command.error_params) == ("payment_id_unreadable", {"text": "twelve"})
    assert only("/paid #" + "1" * 19 + " EFT").error == "payment_id_unreadable"


def test_every_error_code_is_declared() -> None:
    bodies = ["/bid", "/bid x", "/bid 1.001", "/score", "/score @-", "/score @a", "/score @a x",
              "/score @a 101", "/extend", "/cancel", "/paid", "/paid x y", "/paid 1"]
    seen = {only(body).error for body in bodies}
    assert seen == set(COMMAND_ERROR_CODES)


def test_commands_are_frozen() -> None:
    command = only("/status")
    with pytest.raises(AttributeError):
        command.name = "help"  # type: ignore[misc]


# --- is_bot ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"login": "devex-bot[bot]", "type": "Bot"}, True),
        ({"login": "dependabot[bot]"}, True),
        ({"login": "some-app", "type": "Bot"}, True),
        ({"login": "alice", "type": "User"}, False),
        ({"login": "botanist", "type": "User"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_is_bot(user: dict | None, expected: bool) -> None:
    assert is_bot(user) is expected  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(st.none(), st.text(), st.text(alphabet="/ \n\r>`~#<!-bidscore@0123456789$,.", max_size=200)))
def test_parse_commands_never_raises(body: str | None) -> None:
    for command in parse_commands(body):
        assert command.name in ALIASES
        assert (command.args is None) == (command.error is not None)
        if command.error:
            assert command.error in COMMAND_ERROR_CODES


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.sampled_from(["/status", "> /approve", "```", "~~~", "/help", "text", "<!--", "-->", ""]), max_size=30))
def test_fences_and_quotes_never_leak_commands(lines: list[str]) -> None:
    """Model check: a simple re-implementation agrees on which lines count."""
    expected, fence, hidden = [], None, False
    for line in lines:
        if fence:
            fence = None if line == fence else fence
        elif hidden:
            hidden = line != "-->"
        elif line in ("```", "~~~"):
            fence = line
        elif line == "<!--":
            hidden = True
        elif line in ("/status", "/help"):
            expected.append(line[1:])
    assert names("\n".join(lines)) == expected


LOGINS = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,18}", fullmatch=True)
ONE_LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=40,
).map(str.strip)
WORD_FIRST = ONE_LINE.filter(lambda s: bool(s))
CENTS = st.integers(min_value=0, max_value=9_999_999_999).map(lambda c: Decimal(c).scaleb(-2))
PROPOSALS = st.lists(ONE_LINE, max_size=5).map(lambda lines: "\n".join(lines).strip())


def _command(name: str, args: object) -> Command:
    return Command(name=name, alias=name, line="", args=args)  # type: ignore[arg-type]


VALID_COMMANDS = st.one_of(
    st.sampled_from(["help", "status", "register", "withdraw"]).map(lambda n: _command(n, NoArgs())),
    st.builds(lambda j: _command("approve", ApproveArgs(j)), ONE_LINE.map(lambda s: " ".join(s.split()))),
    st.builds(lambda r: _command("commit", CommitArgs(r)), WORD_FIRST),
    st.builds(lambda i: _command("certify", CertifyArgs(i)), st.integers(0, 10**18 - 1)),
    st.builds(lambda a, p: _command("bid", BidArgs(a, p)), CENTS, PROPOSALS),
    st.builds(lambda u, s, n: _command("score", ScoreArgs(u, s, n)), LOGINS, st.integers(0, 100), ONE_LINE),
    st.builds(lambda u, r: _command("award", AwardArgs(u, r)), LOGINS, ONE_LINE),
    st.builds(lambda d: _command("extend", ExtendArgs(d)), WORD_FIRST),
    st.builds(lambda n, r: _command(n, ReasonArgs(r)), st.sampled_from(["cancel", "reject", "terminate"]), WORD_FIRST),
    st.builds(lambda i, r: _command("paid", PaidArgs(i, r)), st.integers(0, 10**18 - 1), WORD_FIRST),
)


@settings(max_examples=200, deadline=None)
@given(command=VALID_COMMANDS)
def test_render_then_parse_round_trips(command: Command) -> None:
    parsed = parse_commands(render_command(command))
    assert [(c.name, c.args, c.error) for c in parsed] == [(command.name, command.args, None)]


def test_render_examples() -> None:
    assert render_command(_command("bid", BidArgs(Decimal("9500"), "I will"))) == "/bid $9,500.00\nI will"
    assert render_command(_command("score", ScoreArgs("alice", 85, "Good"))) == "/score @alice 85 Good"
    assert render_command(_command("paid", PaidArgs(12, "EFT-1"))) == "/paid #12 EFT-1"
    assert render_command(only("/annuler Budget")) == "/cancel Budget"
    with pytest.raises(ValueError):
        render_command(only("/cancel"))
