"""Every handler, composed in one place."""

from bot.routing import Router
from handlers import installation, issue_comment, issues, ping, pull_request, push, scheduled

ROUTER = Router(installation.router, ping.router, push.router, issues.router, issue_comment.router, pull_request.router, scheduled.router)
