"""What every part of the simulated GitHub shares: names, replies, errors, body readers.

Nothing here knows the simulator's state; each module of `demo.github` builds
on these and on nothing of the others.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

BOT_LOGIN = "devex-bot[bot]"
BOT_SLUG = "devex-bot"

DOCS_URL = "https://docs.github.com/rest"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100

# The fine-grained role a collaborator holds, and the legacy `permission`
# value GitHub reports for it: maintain reads as "write", triage as "read".
ROLES = ("admin", "maintain", "write", "triage", "read", "none")
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


def iso_time(moment: datetime) -> str:
    """GitHub's timestamp form; githubkit parses token expiry with exactly this."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    """A legacy global node id, as in the payload examples ("04:User21031067")."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


@dataclass
class RecordedRequest:
    """One request the simulator received, for counting and asserting."""

    method: str
    path: str  # without the /api/v3 prefix and the query string
    json: Any
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False


class HTTPError(Exception):
    def __init__(self, status: int, message: str, errors: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


@dataclass
class Context:
    """What one API request carries besides its path parameters."""

    api: str  # e.g. https://api.github.test or https://ghe.example/api/v3
    query: dict[str, str]
    body: Any
    installation_id: int | None = None
    user: str | None = None  # the login a user token (OAuth web flow) belongs to


def status_phrase(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_reply(status: int, message: str, errors: list | None = None) -> Reply:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
    if errors:
        body["errors"] = errors
    return Reply(status, body)


def json_object(body: Any) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HTTPError(422, "Invalid request.\n\nThe body must be a JSON object.")
    return body


def label_names(body: Any) -> list[str]:
    """Label names from any form GitHub accepts: a list or {"labels": list}, of names or {"name": ...}."""
    if isinstance(body, dict):
        body = body.get("labels", [])
    if isinstance(body, str):
        body = [body]
    if not isinstance(body, list):
        raise HTTPError(422, "Invalid request.\n\nThe labels must be a list.")
    names = []
    for item in body:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise HTTPError(422, "Validation Failed", [{"resource": "Label", "code": "invalid", "field": "name"}])
        names.append(name)
    return names


def assignee_logins(body: dict) -> list[str]:
    logins = body.get("assignees")
    if logins is None:
        logins = [body["assignee"]] if body.get("assignee") else []
    if isinstance(logins, str):
        logins = [logins]
    return [login for login in logins if isinstance(login, str) and login]
