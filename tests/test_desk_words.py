"""The desk's words: the same keys in English and French, none left empty, and words
for every refusal a desk form can meet (the checks it shares with the comment
commands, and the amount reader's)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DESK = ROOT / "templates" / "web" / "desk"


def keys(data: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        out.update(keys(value, name + ".") if isinstance(value, dict) else {name: value})
    return out


def test_english_and_french_have_the_same_words_and_placeholders():
    en, fr = (keys(yaml.safe_load((DESK / f"{lang}.yml").read_text(encoding="utf-8"))) for lang in ("en", "fr"))
    assert set(en) == set(fr)
    for key in en:
        assert isinstance(en[key], str) and en[key].strip() and fr[key].strip(), key
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", fr[key])), key
        if len(en[key]) > 12:
            assert en[key] != fr[key], key  # translated, not copied


def test_every_refusal_a_desk_form_can_meet_has_words():
    sources = "\n".join((ROOT / p).read_text() for p in ("bot/stages/bidding.py", "bot/stages/desk.py", "bot/web/desk.py", "bot/procurement/money.py"))
    codes = set(re.findall(r'(?:Refusal\(|AmountError\(|return )"([a-z_]+)"', sources))
    codes -= {"already_registered", "registered", "bid_receipt", "withdrawn", "rate", "not_issuer", "en", "fr"}
    en = yaml.safe_load((DESK / "en.yml").read_text(encoding="utf-8"))["request"]["refusals"]
    assert codes and codes - set(en) == set()
