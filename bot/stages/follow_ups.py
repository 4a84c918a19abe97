"""Every write rendered when sent, and every follow-up of GitHub's answers, by name.

Importing the stages registers them (`bot.github.requests.Rendered` and
`FollowUp`); the composition root hands these two tables to the sender.
"""

from bot.github.requests import FollowUp, Rendered
from bot.stages import award_review, effects, evaluation_issue, late_proposals, payments  # noqa: F401  (they register)

PREPARERS = Rendered.registry
FOLLOWS = FollowUp.registry
