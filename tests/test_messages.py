"""Every word is in templates/, in English and French; user text cannot mention or break a message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages import LANGUAGES, RULE, TEMPLATES, render, user_block, user_text, verbatim

ROOT = Path(__file__).resolve().parent.parent


def template_files(lang: str) -> set[str]:
    return {str(p.relative_to(TEMPLATES / lang)) for p in (TEMPLATES / lang).rglob("*.md")}


def test_every_template_exists_in_english_and_french():
    assert template_files("en") == template_files("fr")


def test_every_outcome_and_refusal_the_code_names_has_its_templates():
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    refusals = set(re.findall(r"""refuse\(\s*cmd,\s*["']([a-z_]+)["']""", source))
    outcomes = set(re.findall(r"""done\(\s*cmd,\s*["']([a-z_]+)["']""", source))
    assert refusals and outcomes
    for lang in LANGUAGES:
        files = template_files(lang)
        assert {f"refusal/{c}.md" for c in refusals} <= files, lang
        assert {f"outcome/{c}.md" for c in outcomes} <= files, lang


def test_a_message_is_english_then_a_rule_then_french():
    body = render("form_fixed", author="pm-alice")
    english, french = body.split(RULE)
    assert "Problems fixed" in english and "Problèmes corrigés" in french


NASTY = [
    "@someone please look",
    "cc @org/team",
    "`code` and ```fences```",
    "<details><summary>hidden</summary>secret</details>",
    "<img src=x onerror=alert(1)> <script>alert(1)</script>",
    "**bold** _it_ [link](http://evil) | table | ~~strike~~ # heading",
]


@pytest.mark.parametrize("text", NASTY)
def test_user_text_cannot_mention_or_make_markup(text):
    out = user_text(text)
    assert not re.search(r"@[A-Za-z0-9]", out)
    assert "<" not in out and "`" not in out
    for mark in ("**", "[link]", "|", "~~"):
        assert mark not in out.replace("\\", "") or "\\" in out


def test_long_user_text_is_truncated():
    out = user_text("x" * 100_000, limit=300)
    assert len(out) == 300 and out.endswith("…")
    block = user_block(("line\n" * 50_000), limit=3000)
    assert len(block) < 7000


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_verbatim_shows_the_exact_text_inside_a_fence_no_mention_renders(text):
    shown = verbatim(text)
    first, rest = shown.split("\n", 1)
    fence = first[: len(first) - len("text")]
    assert set(fence) == {"`"} and len(fence) >= 3
    assert rest.endswith("\n" + fence)
    assert rest[: -len(fence) - 1] == text
    # No line of the text can close the fence early.
    assert all(not line.startswith(fence) for line in text.split("\n"))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_user_text_never_leaves_a_live_mention(text):
    assert not re.search(r"(?<![\w\u200b])@[A-Za-z0-9]", user_text(text, limit=10_000))
