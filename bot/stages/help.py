"""`/help`: the commands of this issue, marking those this user may use now."""

from __future__ import annotations

from bot.procurement.lifecycle import State
from bot.stages.target import Target
from storage import procurement as store

ORDER = ("help", "status", "register", "bid", "withdraw", "extend", "cancel", "score", "award", "approve", "reject", "paid", "terminate")


def commands_for(ctx, target: Target, login: str) -> list[dict]:
    """One row per command of this issue: name, whether usable now, and the code of what unlocks it."""
    from bot.stages.comment_commands import ACTIONS
    from bot.procurement.commands import ALIASES

    opportunity = target.opportunity
    state = State(opportunity.state)
    people = target.people
    registration = store.registration(ctx.session, login)
    proposal = store.proposal_of(ctx.session, opportunity.id, login)
    rows = []
    for name in ORDER:
        if name not in ACTIONS[target.kind]:
            continue
        unlock = None
        if name == "register":
            unlock = "registered" if registration else None
        elif name == "bid":
            if state != State.OPEN:
                unlock = "when_open"
            elif registration is None:
                unlock = "register_first"
            elif people.conflict(login, opportunity.author, fresh=False).conflicted:
                unlock = "conflicted"
        elif name == "withdraw":
            unlock = None if state == State.OPEN and proposal and proposal.status == "live" else "after_bid"
        elif name in ("extend", "cancel"):
            unlock = None if people.is_issuer(login, fresh=False) else "issuers_only"
        elif name in ("score", "award"):
            if not people.is_evaluator(login, fresh=False):
                unlock = "evaluators_only"
            elif state != State.EVALUATION:
                unlock = "in_evaluation"
        elif name in ("approve", "reject", "paid", "terminate"):
            if not people.is_contract_officer(login, fresh=False):
                unlock = "officers_only"
        rows.append(
            {
                "name": name,
                "en": "/" + name,
                "fr": "/" + ALIASES[name][0],
                "now": unlock is None or unlock == "registered",
                "unlock": unlock,
            }
        )
    return rows
