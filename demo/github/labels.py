"""Labels: created on first use, added, replaced and removed, with their timeline entries and JSON."""

from __future__ import annotations

from urllib.parse import quote

from demo.github.rest import BOT_LOGIN, Context, HTTPError, Reply, iso_time, label_names, node_id


class Labels:
    """The label endpoints and the label changes people and the app share."""

    def _list_labels(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        return Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _add_labels(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for name in label_names(context.body):
            if self._attach_label(full, issue, name, BOT_LOGIN):
                self._bot_event(context, self._kind(issue), "labeled", full, issue=issue, extra={"label": self._label_json(full, name, context.api)})
        return Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _set_labels(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        self._replace_labels(context, full, issue, label_names(context.body))
        return Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _clear_labels(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        self._replace_labels(context, full, issue, [])
        return Reply(204)

    def _remove_label(self, context: Context, owner: str, repo: str, number: str, name: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        present = next((n for n in issue["labels"] if n.lower() == name.lower()), None)
        if present is None:
            raise HTTPError(404, "Label does not exist")
        self._detach_label(issue, present, BOT_LOGIN)
        self._bot_event(context, self._kind(issue), "unlabeled", full, issue=issue, extra={"label": self._label_json(full, present, context.api)})
        return Reply(200, [self._label_json(full, n, context.api) for n in issue["labels"]])

    def _ensure_label(self, repo: str, name: str) -> dict:
        labels = self.labels.setdefault(repo, {})
        existing = next((k for k in labels if k.lower() == name.lower()), None)
        if existing is None:
            labels[name] = {"id": self._new_id("label"), "name": name, "color": "ededed", "description": None}
            existing = name
        return labels[existing]

    def _attach_label(self, repo: str, issue: dict, name: str, actor: str) -> bool:
        """Adds the label (created on first use, as GitHub does); False when already there."""
        label = self._ensure_label(repo, name)
        if label["name"] in issue["labels"]:
            return False
        issue["labels"].append(label["name"])
        issue["updated_at"] = iso_time(self.clock())
        self._timeline(issue, actor, f"added the label {label['name']}")
        return True

    def _detach_label(self, issue: dict, name: str, actor: str) -> None:
        issue["labels"].remove(name)
        issue["updated_at"] = iso_time(self.clock())
        self._timeline(issue, actor, f"removed the label {name}")

    def _replace_labels(self, context: Context, repo: str, issue: dict, names: list[str]) -> None:
        wanted = [self._ensure_label(repo, n)["name"] for n in names]
        for name in [n for n in issue["labels"] if n not in wanted]:
            self._detach_label(issue, name, BOT_LOGIN)
            self._bot_event(context, self._kind(issue), "unlabeled", repo, issue=issue, extra={"label": self._label_json(repo, name, context.api)})
        for name in wanted:
            if self._attach_label(repo, issue, name, BOT_LOGIN):
                self._bot_event(context, self._kind(issue), "labeled", repo, issue=issue, extra={"label": self._label_json(repo, name, context.api)})

    def _label_json(self, repo: str, name: str, api: str) -> dict:
        label = self._ensure_label(repo, name)
        return {
            "id": label["id"],
            "node_id": node_id("Label", label["id"]),
            "url": f"{api}/repos/{repo}/labels/{quote(label['name'], safe='')}",
            "name": label["name"],
            "color": label["color"],
            "default": False,
            "description": label["description"],
            "archived_at": None,
            "archived_by": None,
        }
