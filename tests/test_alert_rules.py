"""The rules of alerts with plain values: which opportunities a search matches, reading the
form, addresses, signed links, the SMTP URL; and their words in both languages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts import tokens
from bot.alerts.addresses import address_hash, read_address
from bot.alerts.smtp import SmtpConfigError, SmtpServer
from bot.procurement.searches import SEARCH_PROBLEMS, Search, Terms, matches, org_matches, read_search, skill_matches

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
OPPORTUNITY = Terms(repository="octo-org/procurement", value=Decimal("9500.00"), skills="Python, GitHub Actions; Développement web")
KEY = "a-test-key-of-at-least-16-characters"
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "search, expected",
    [
        (Search(), True),
        (Search(skill="python"), True),
        (Search(skill="PYTHON"), True),
        (Search(skill="actions"), True),
        (Search(skill="github actions"), True),
        (Search(skill="developpement"), True),  # accents do not matter
        (Search(skill="Développement Web"), True),
        (Search(skill="java"), False),  # a whole word, not a piece of one
        (Search(skill="python actions"), False),  # words of one listed skill, in order
        (Search(org="octo-org"), True),
        (Search(org="Octo-Org"), True),
        (Search(org="octo-org/procurement"), True),
        (Search(org="octo-org/other"), False),
        (Search(org="octo"), False),
        (Search(min_value=Decimal("9500.00")), True),  # bounds are inclusive
        (Search(max_value=Decimal("9500.00")), True),
        (Search(min_value=Decimal("9500.01")), False),
        (Search(max_value=Decimal("9499.99")), False),
        (Search(skill="python", org="octo-org", min_value=Decimal("1000"), max_value=Decimal("9999")), True),
        (Search(skill="python", org="elsewhere"), False),
    ],
)
def test_a_search_matches_an_opportunity(search, expected):
    assert matches(search, OPPORTUNITY) is expected


def test_an_opportunity_without_a_value_or_skills_matches_only_searches_that_do_not_ask():
    bare = Terms(repository="octo-org/procurement", value=None, skills=None)
    assert matches(Search(), bare)
    assert not matches(Search(min_value=Decimal("1")), bare)
    assert not matches(Search(skill="python"), bare)
    assert skill_matches("  ", None) and org_matches(" / ", "a/b")


@pytest.mark.parametrize(
    "fields, search, problems",
    [
        ({}, Search(), []),
        ({"skill": "  GitHub   Actions ", "org": " octo-org "}, Search(skill="GitHub Actions", org="octo-org"), []),
        ({"min": "1,000", "max": "9 500,00 $"}, Search(min_value=Decimal("1000.00"), max_value=Decimal("9500.00")), []),
        ({"min": "$9,999.00"}, Search(min_value=Decimal("9999.00")), []),
        ({"min": "lots"}, None, ["min_unreadable"]),
        ({"min": "-1", "max": "1.234"}, None, ["min_negative", "max_unreadable"]),
        ({"min": "500", "max": "100"}, None, ["min_above_max"]),
        ({"skill": "x" * 101}, None, ["term_too_long"]),
    ],
)
def test_reading_the_form(fields, search, problems):
    assert read_search(fields) == (search, problems)


@given(st.dictionaries(st.sampled_from(["skill", "org", "min", "max"]), st.text(max_size=200)))
def test_reading_any_form_gives_a_search_or_known_problems(fields):
    search, problems = read_search(fields)
    assert (search is None) == bool(problems)
    assert set(problems) <= set(SEARCH_PROBLEMS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ana@example.org", "ana@example.org"),
        ("  Ana.Dev+alerts@Example.ORG ", "Ana.Dev+alerts@example.org"),
        ("o'brien@sub.example.gc.ca", "o'brien@sub.example.gc.ca"),
        ("ana@example", None),
        ("ana..dev@example.org", None),
        (".ana@example.org", None),
        ("ana@-example.org", None),
        ("ana@example.org\n", "ana@example.org"),
        ("ana@example.org\nBcc: eve@example.org", None),
        ("ana@example.org, eve@example.org", None),
        ("Ana <ana@example.org>", None),
        ("a" * 65 + "@example.org", None),
        ("ana@" + "a" * 250 + ".org", None),
        ("", None),
        (None, None),
    ],
)
def test_reading_an_address(text, expected):
    assert read_address(text) == expected


def test_an_address_is_named_by_a_keyed_hash_that_ignores_case():
    assert address_hash(KEY, "Ana@Example.org") == address_hash(KEY, "ana@example.org")
    assert address_hash(KEY, "ana@example.org") != address_hash(KEY + "x", "ana@example.org")
    assert "ana" not in address_hash(KEY, "ana@example.org")


def test_a_confirmation_link_works_for_seven_days_and_only_as_itself():
    token = tokens.confirmation(KEY, 12, NOW)
    assert tokens.read(KEY, tokens.CONFIRM, token, NOW + timedelta(days=6, hours=23)) == tokens.Reading(subscription_id=12)
    assert tokens.read(KEY, tokens.CONFIRM, token, NOW + timedelta(days=7)).problem == "expired"
    assert tokens.read(KEY, tokens.UNSUBSCRIBE, token, NOW).problem == "bad"  # not another purpose
    assert tokens.read(KEY + "x", tokens.CONFIRM, token, NOW).problem == "bad"
    purpose, number, expires, signature = token.split(".")
    for forged in (f"{purpose}.13.{expires}.{signature}", f"{purpose}.{number}.{int(expires) + 86400}.{signature}", f"u.{number}.{expires}.{signature}", token + "x", token[:-1], ""):
        assert tokens.read(KEY, tokens.CONFIRM, forged, NOW).problem == "bad", forged


def test_an_unsubscribe_link_never_expires():
    token = tokens.unsubscribe(KEY, 12)
    assert tokens.read(KEY, tokens.UNSUBSCRIBE, token, NOW + timedelta(days=3650)) == tokens.Reading(subscription_id=12)


def test_the_smtp_url():
    assert SmtpServer.from_url("smtp://mail.example.org") == SmtpServer("mail.example.org", 587, tls=False)
    assert SmtpServer.from_url("smtps://u%40x:p%3Ass@mail.example.org") == SmtpServer("mail.example.org", 465, True, "u@x", "p:ss")
    assert SmtpServer.from_url("smtp://127.0.0.1:2525").port == 2525
    for bad in ("http://mail.example.org", "smtp://", "mail.example.org"):
        with pytest.raises(SmtpConfigError):
            SmtpServer.from_url(bad)


def test_alerts_need_a_secret_key_when_smtp_is_set():
    from bot.settings import Settings

    with pytest.raises(ValueError, match="DEVEX_SECRET_KEY"):
        Settings(SMTP_URL="smtp://127.0.0.1:25")
    with pytest.raises(ValueError, match="DEVEX_SECRET_KEY"):
        Settings(SMTP_URL="smtp://127.0.0.1:25", DEVEX_SECRET_KEY="short")
    assert Settings(SMTP_URL="smtp://127.0.0.1:25", DEVEX_SECRET_KEY=KEY).alerts_on
    assert not Settings().alerts_on


def _files(folder: str, lang: str) -> set[str]:
    return {p.name for p in (TEMPLATES / folder / lang).glob("*") if "alert" in p.name or folder == "email"}


def test_every_alert_page_and_message_exists_in_english_and_french():
    assert _files("web", "en") == _files("web", "fr") and _files("web", "en")
    assert _files("email", "en") == _files("email", "fr") and _files("email", "en")


def test_both_forms_have_the_same_fields_and_word_every_problem():
    forms = {lang: (TEMPLATES / "web" / lang / "_alerts_form.html").read_text() for lang in ("en", "fr")}
    names = {lang: sorted(re.findall(r'name="([^"]+)"', text)) for lang, text in forms.items()}
    assert names["en"] == names["fr"] == sorted(["csrf_token", "email", "skill", "org", "min", "max"])
    for text in forms.values():
        labelled = set(re.findall(r'<label for="([^"]+)"', text))
        assert labelled == set(re.findall(r'<input type="(?:email|text)" id="([^"]+)"', text))
        for code in (*SEARCH_PROBLEMS, "email", "cross_site", "too_long"):
            assert f'"{code}":' in text, code
