"""Setting the scene: users, repositories, installations, roles, teams, issues, pull requests.

None of these sends a webhook; `demo.github.people` has the actions that do.
"""

from __future__ import annotations

import secrets
from typing import Iterable

from demo.github.rest import ROLES, iso_time

DEFAULT_INSTALLATION_PERMISSIONS = {
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}


class Seeding:
    """What a test, the demo or the bench sets up before the bot acts. Thread-safe."""

    def add_user(self, login: str, type: str = "User") -> dict:
        """Registers a user ("User", "Bot" or "Organization"); logins ending in [bot] are bots."""
        with self.lock:
            return self._add_user(login, type)

    def add_repo(
        self,
        full_name: str,
        private: bool = False,
        files: dict[str, str] | None = None,
        default_branch: str = "main",
    ) -> dict:
        """Creates a repository owned by the login before the slash."""
        with self.lock:
            owner, name = full_name.split("/", 1)
            self._user(owner)
            record = {
                "id": self._new_id("repo"),
                "name": name,
                "full_name": full_name,
                "owner": owner,
                "private": private,
                "default_branch": default_branch,
                "files": dict(files or {}),
                "created_at": iso_time(self.clock()),
            }
            self.repositories[full_name] = record
            self.issues.setdefault(full_name, {})
            self.labels.setdefault(full_name, {})
            return record

    def add_installation(
        self,
        id: int,
        account: str,
        repos: Iterable[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> dict:
        """Installs the app on `account`: on the listed repositories, or all its repositories when None."""
        with self.lock:
            self._user(account)
            record = {
                "id": id,
                "account": account,
                "repositories": None if repos is None else list(repos),
                "permissions": dict(permissions or DEFAULT_INSTALLATION_PERMISSIONS),
            }
            self.installations[id] = record
            return record

    def set_permission(self, repo: str, login: str, perm: str) -> None:
        """Sets `login`'s role on `repo`: admin, maintain, write, triage, read or none."""
        if perm not in ROLES:
            raise ValueError(f"unknown role {perm!r}; one of {ROLES}")
        with self.lock:
            self._user(login)
            self.permissions[(repo, login)] = perm

    def add_team_member(self, org: str, team: str, login: str) -> None:
        """Adds `login` to the team `org/team` (an active member)."""
        with self.lock:
            self._add_user(org, "Organization")
            self._user(login)
            self.teams.setdefault((org, team), set()).add(login)

    def open_issue(
        self, repo: str, title: str, body: str, user: str, labels: Iterable[str] = ()
    ) -> dict:
        """Opens an issue as `user`, without a webhook."""
        with self.lock:
            issue = self._create_issue(repo, title, body, user)
            for name in labels:
                self._attach_label(repo, issue, name, user)
            return issue

    def add_comment(self, repo: str, number: int, body: str, user: str) -> dict:
        """Comments on an issue or pull request as `user`, without a webhook."""
        with self.lock:
            return self._create_comment(repo, self._issue(repo, number), body, user)

    def open_pull_request(
        self,
        repo: str,
        title: str,
        body: str,
        user: str,
        head_repo: str | None = None,
        head_ref: str | None = None,
        base_ref: str | None = None,
    ) -> dict:
        """Opens a pull request (an issue with `pull_request` set) as `user`, without a webhook;
        into `base_ref` (default: the repository's default branch)."""
        with self.lock:
            issue = self._create_issue(repo, title, body, user)
            head_repo = head_repo or repo
            if head_repo not in self.repositories:
                self.add_repo(head_repo)
            issue["pull_request"] = {
                "id": self._new_id("pull"),
                "head_repo": head_repo,
                "head_ref": head_ref or f"{user}-patch-{issue['number']}",
                "head_sha": secrets.token_hex(20),
                "base_ref": base_ref or self.repositories[repo]["default_branch"],
                "base_sha": secrets.token_hex(20),
                "merged": False,
                "merged_at": None,
                "merged_by": None,
                "merge_commit_sha": None,
            }
            return issue
