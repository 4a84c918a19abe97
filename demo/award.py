"""`devex-bot demo`, chapters 4 to 6, after bidding closes: scores, a rejected recommendation, an approved one."""

from __future__ import annotations

from typing import Callable

from bot.procurement.lifecycle import AWARD_REVIEW_LABEL, EVALUATION_LABEL
from demo.github import BOT_LOGIN
from demo.scene import FINANCE_CONFIG, REPO, Procurement


def _bot_issue(p: Procurement, label: str) -> int:
    """The number of the newest issue the app opened with `label`."""
    issues = [i for i in p.sim.issues[REPO].values() if i["user"] == BOT_LOGIN and label in i["labels"]]
    return max(i["number"] for i in issues)


def evaluate_and_award(p: Procurement, number: int, say: Callable[[str], None]) -> None:
    """Plays chapters 4 to 6 on the opportunity `number`, once bidding has closed."""
    evaluation = _bot_issue(p, EVALUATION_LABEL)
    say(f"   The bot opened the evaluation issue #{evaluation}: every live proposal in full, with its receipt's SHA-256.")

    say("\n4. The evaluators score, on the evaluation issue (a second evaluator is listed in .github/devex.yml).")
    p.sim.repositories[REPO]["files"][".github/devex.yml"] = FINANCE_CONFIG + "evaluators: [eval-emma]\n"
    p.comment(evaluation, "pm-priya", "/score @dev-dana 88 thorough audit, realistic plan\n/score @studio-sam 75 good, less detail on testing\n/score @freelance-fatima 70 sound plan, few references")
    p.comment(evaluation, "eval-emma", "/note @dev-dana 84\n/note @studio-sam 80 équipe bilingue")
    p.comment(evaluation, "studio-sam", "/score @studio-sam 100")
    say("   (refused: a bidder may not score)")

    say("\n5. A recommendation below the top of the ranking needs a reason; a contract officer rejects it.")
    p.comment(number, "pm-priya", "/award @studio-sam")
    say("   (refused: dev-dana ranks first, so a reason is required)")
    p.comment(number, "pm-priya", "/award @studio-sam bilingual team and the lower price")
    first_review = _bot_issue(p, AWARD_REVIEW_LABEL)
    say(f"   The bot opened the award-review issue #{first_review} for the contract officers.")
    p.comment(first_review, "pm-priya", "/approve")
    say("   (refused: only contract officers approve)")
    p.comment(first_review, "officer-olivier", "/reject the reasons do not outweigh a clear gap in the scores")

    say("\n6. A second recommendation, of the highest ranked, is approved.")
    p.comment(number, "pm-priya", "/award @dev-dana")
    second_review = _bot_issue(p, AWARD_REVIEW_LABEL)
    p.comment(second_review, "officer-olivier", "/approve")
    say("   The contractor is assigned, the announcement posted; each other bidder is told their rank, score and notes are on their desk.")
