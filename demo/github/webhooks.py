"""The webhook deliveries GitHub sends: built on its own payload examples, for the app's actions and people's."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from demo.github.rest import BOT_LOGIN, Context, node_id


def default_payloads_dir() -> Path | None:
    """Where the real webhook payload examples live, if anywhere."""
    candidates = [
        os.environ.get("DEVEX_GITHUB_PAYLOADS"),
        Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "github-payloads",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def overlay(template: Any, ours: dict) -> dict:
    """Our object, keeping the key order and any extra keys of GitHub's example."""
    if not isinstance(template, dict):
        return ours
    merged = {key: ours[key] if key in ours else copy.deepcopy(value) for key, value in template.items()}
    merged.update({key: value for key, value in ours.items() if key not in merged})
    return merged


class Webhooks:
    """Deliveries: the app's own actions go to `events`, people's to `human_events` (and back to the caller)."""

    def _template(self, event: str, action: str) -> dict:
        """GitHub's example delivery, shared: read it, never change it."""
        key = (event, action)
        if key not in self._templates:
            template: dict = {}
            if self.payloads_dir is not None:
                path = self.payloads_dir / event / f"{action}.payload.json"
                if path.is_file():
                    template = json.loads(path.read_text(encoding="utf-8"))
            self._templates[key] = template
        return self._templates[key]

    def _delivery(
        self,
        event: str,
        action: str,
        repo: str,
        sender: str,
        api: str,
        installation_id: int | None,
        *,
        issue: dict | None = None,
        comment: dict | None = None,
        extra: dict | None = None,
    ) -> dict:
        template = self._template(event, action)
        parts: dict[str, Any] = {"action": action}
        if issue is not None:
            if event in ("pull_request", "pull_request_review"):
                parts["number"] = issue["number"]
                parts["pull_request"] = overlay(template.get("pull_request"), self._pull_json(repo, issue, api))
            else:
                parts["issue"] = overlay(template.get("issue"), self._issue_json(repo, issue, api))
        if comment is not None:
            parts["comment"] = overlay(template.get("comment"), self._comment_json(comment, api))
        for key, value in (extra or {}).items():
            parts[key] = overlay(template.get(key), value) if key in ("label", "assignee", "review") else value
        parts["repository"] = overlay(template.get("repository"), self._repo_json(repo, api))
        owner = self.repositories[repo]["owner"]
        if self._user(owner)["type"] == "Organization":
            parts["organization"] = self._org_json(owner, api)
        parts["sender"] = overlay(template.get("sender"), self._user_json(sender, api))
        if installation_id is not None:
            parts["installation"] = {"id": installation_id, "node_id": node_id("IntegrationInstallation", installation_id)}
        ordered = {key: parts[key] for key in template if key in parts}
        ordered.update({key: value for key, value in parts.items() if key not in ordered})
        return ordered

    def _bot_event(self, context: Context, event: str, action: str, repo: str, **kwargs: Any) -> None:
        payload = self._delivery(event, action, repo, BOT_LOGIN, context.api, context.installation_id, **kwargs)
        self.events.append((event, payload))

    def _human(self, event: str, action: str, repo: str, login: str, **kwargs: Any) -> tuple[str, dict]:
        payload = self._delivery(event, action, repo, login, self.api_url, self._installation_of(repo), **kwargs)
        self.human_events.append((event, payload))
        return event, payload
