"""Every code name has words in English and French: a person never reads a code
(PRODUCT.md "Comment commands": "a code name is never shown to a person")."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.messages import LANGUAGES, TEMPLATES, environment, render
from bot.procurement import pull_requests as rules
from bot.procurement.config import CONFIG_PROBLEM_CODES
from bot.procurement.form import FORM_PROBLEM_CODES, Problem

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
WHEN = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
PARAMS = {
    "text": "2027-03-14T02:30", "day": "2027-03-14", "time": "02:30", "zone": "America/Toronto", "value": Decimal("9500.00"),
    "cap": Decimal("9999.00"), "deadline": WHEN, "now": WHEN, "line": "- Build 5000", "name": "Build", "total": Decimal("9000.00"),
    "section": "Value",
}


def test_every_refusal_a_check_returns_has_its_words():
    codes = set(re.findall(r"""Refusal\(\s*["']([a-z_]+)["']""", SOURCE)) | set(re.findall(r"""refuse\(\s*cmd,\s*["']([a-z_]+)["']""", SOURCE))
    assert {"pay_not_officer", "register_conflicted", "evaluate_elsewhere", "accept_nothing", "justification_required"} <= codes
    for lang in LANGUAGES:
        missing = [c for c in codes if not (TEMPLATES / lang / "refusal" / f"{c}.md").is_file()]
        assert missing == [], lang


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", FORM_PROBLEM_CODES)
def test_every_form_problem_is_said_in_words(lang, code):
    problem = environment(lang).get_template("_problems.md").make_module().problem
    said = str(problem(Problem(code, dict(PARAMS))))
    assert code not in said
    assert "cannot name" not in said and "ne sait pas nommer" not in said  # the fallback


@pytest.mark.parametrize("code", CONFIG_PROBLEM_CODES)
def test_every_configuration_problem_is_said_in_words(code):
    said = render("config_invalid", problems=[("acceptance.approvals", code)], author="pm-alice")
    assert "cannot be used (" not in said and code not in said.replace("acceptance.approvals", "")


@pytest.mark.parametrize("reason", rules.REASONS)
def test_every_reason_a_pull_request_pays_nothing_is_said_in_words(reason):
    from types import SimpleNamespace

    o = SimpleNamespace(repository="octo/repo", issue_number=1, amounts_include_tax=True, contractor="dev-bob", state="review", contract_value=Decimal("9000.00"))
    m = rules.MilestoneFacts(1, "Design", Decimal("4500.00"), "open", False)
    decision = rules.PayDecision(milestone=m, reason=reason, wanted="9")
    said = render("pull_request", phase="open", o=o, others=[o], reason=reason, decision=decision, author="mallory", repository="octo/sandbox",
                  milestones=[m], payment=None, completed=False, terms_days=30, config_invalid=False, failures=None, accepted=None)
    for half in said.split("\n---\n"):
        assert not re.search(r"(nothing|rien) ?:\s*$", half.strip()), half  # a reason with no words leaves the sentence open


@pytest.mark.parametrize("gate", rules.GATES)
def test_every_acceptance_gate_is_said_in_words(gate):
    for lang in LANGUAGES:
        macro = environment(lang).get_template("_acceptance.md").make_module().gate
        said = str(macro(rules.GateFailure(gate, needed=1, branch="main", failing=("ci: failure",)))).strip()
        assert said and gate not in said


def test_conflict_reasons_are_said_in_words():
    from types import SimpleNamespace

    item = SimpleNamespace(params={"reasons": ["author", "issuer", "evaluator", "contract_officer"]}, alias="register", command="register")
    for lang in LANGUAGES:
        for name in ("conflicted", "register_conflicted"):
            said = environment(lang).get_template(f"refusal/{name}.md").render(item=item)
            assert "contract_officer" not in said and "(author" not in said and "a contract officer" in said.replace("un agent de contrats", "a contract officer")
