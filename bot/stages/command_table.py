"""The one table of comment commands.

Each row says everything about one command: its English name and the French
ones (accents optional), the type of its arguments, the issues that take it,
the action that carries it out, and the check "may this person use it now".
The grammar reads its names and argument types from here (`GRAMMAR`), the
dispatcher its actions and checks (`bot.stages.comment_commands`), and `/help`
the same checks: a rule changed in a check changes the refusal and `/help`
together. The words each command shows people are in `templates/*/_names.md`
(a test walks this table through them in both languages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping, Optional

from bot.procurement import commands as grammar
from bot.procurement.command_args import (
    ApproveArgs,
    AwardArgs,
    BidArgs,
    CertifyArgs,
    CommitArgs,
    ExtendArgs,
    NoArgs,
    PaidArgs,
    ReasonArgs,
    ScoreArgs,
)
from bot.stages import bidding, evaluation, finance, payments
from bot.stages.outcomes import Outcome, Refusal, done
from bot.stages.target import Target

OPPORTUNITY, EVALUATION, REVIEW = "opportunity", "evaluation", "review"
ANYWHERE = frozenset({OPPORTUNITY, EVALUATION, REVIEW})

Action = Callable[..., Outcome]  # (ctx, target, cmd, comment) -> Outcome
# (ctx, target, login, fresh) -> why not now, or None. `fresh`: ask GitHub again
# (a command is being carried out) or use what this delivery already knows (/help).
Check = Callable[..., Optional[Refusal]]


def anyone(ctx, target: Target, login: str, fresh: bool) -> Optional[Refusal]:
    return None


@dataclass(frozen=True)
class CommandSpec:
    name: str
    french: tuple[str, ...]
    args: type
    issues: frozenset[str]
    action: Action
    may: Check = anyone
    # What /help notes for someone who may use it (e.g. already registered): an unlock key.
    note: Optional[Callable[..., Optional[str]]] = None
    # Run when the check refuses (e.g. a refused sealed bid is still removed).
    on_refusal: Optional[Callable[..., None]] = None


def help_(ctx, target: Target, cmd, comment: dict) -> Outcome:
    login = comment["user"]["login"]
    return done(cmd, "help", rows=rows_for(ctx, target, login), where=target.kind)


TABLE: tuple[CommandSpec, ...] = (
    CommandSpec("help", ("aide",), NoArgs, ANYWHERE, help_),
    CommandSpec("status", ("statut",), NoArgs, ANYWHERE, bidding.status),
    CommandSpec("register", ("inscription",), NoArgs, frozenset({OPPORTUNITY}), bidding.register, bidding.may_register, note=bidding.registered),
    CommandSpec("bid", ("soumission",), BidArgs, frozenset({OPPORTUNITY}), bidding.bid, bidding.may_bid, on_refusal=bidding.bid_refused),
    CommandSpec("withdraw", ("retirer",), NoArgs, frozenset({OPPORTUNITY}), bidding.withdraw, bidding.may_withdraw),
    CommandSpec("extend", ("prolonger",), ExtendArgs, frozenset({OPPORTUNITY}), bidding.extend, bidding.may_manage),
    CommandSpec("cancel", ("annuler",), ReasonArgs, frozenset({OPPORTUNITY}), bidding.cancel, bidding.may_manage),
    CommandSpec("score", ("note",), ScoreArgs, frozenset({OPPORTUNITY, EVALUATION}), evaluation.score, evaluation.may_evaluate),
    CommandSpec("award", ("attribuer",), AwardArgs, frozenset({OPPORTUNITY, EVALUATION}), evaluation.award, evaluation.may_evaluate),
    CommandSpec("approve", ("approuver",), ApproveArgs, frozenset({REVIEW}), evaluation.approve, evaluation.may_decide),
    CommandSpec("reject", ("rejeter",), ReasonArgs, frozenset({REVIEW}), evaluation.reject, evaluation.may_decide),
    CommandSpec("commit", ("engager",), CommitArgs, frozenset({OPPORTUNITY}), finance.commit, finance.may_commit),
    CommandSpec("certify", ("certifier",), CertifyArgs, frozenset({OPPORTUNITY, REVIEW}), finance.certify, finance.may_certify),
    CommandSpec("paid", ("paye", "payé"), PaidArgs, frozenset({OPPORTUNITY, REVIEW}), payments.paid, payments.may_pay),
    CommandSpec("terminate", ("resilier", "résilier"), ReasonArgs, frozenset({OPPORTUNITY}), payments.terminate, payments.may_terminate),
)

BY_NAME: Mapping[str, CommandSpec] = {spec.name: spec for spec in TABLE}
#: Canonical English name -> the other names that invoke it.
ALIASES: Mapping[str, tuple[str, ...]] = {spec.name: spec.french for spec in TABLE}
#: The argument type of each command.
ARGS_TYPES: Mapping[str, type] = {spec.name: spec.args for spec in TABLE}
#: Every name a person may type -> (canonical name, argument type): what the grammar reads.
GRAMMAR: Mapping[str, tuple[str, type]] = {
    alias: (spec.name, spec.args) for spec in TABLE for alias in (spec.name, *spec.french)
}

parse_commands = partial(grammar.parse_commands, names=GRAMMAR)


def taken_on(kind: str) -> list[CommandSpec]:
    return [spec for spec in TABLE if kind in spec.issues]


def rows_for(ctx, target: Target, login: str) -> list[dict]:
    """/help: one row per command of this issue, from the same checks the commands use."""
    rows = []
    for spec in taken_on(target.kind):
        refusal = spec.may(ctx, target, login, False)
        note = spec.note(ctx, target, login) if spec.note is not None and refusal is None else None
        rows.append(
            {
                "name": spec.name,
                "en": "/" + spec.name,
                "fr": "/" + spec.french[0],
                "now": refusal is None,
                "unlock": refusal.unlock if refusal is not None else note,
            }
        )
    return rows
