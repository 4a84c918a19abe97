"""The simulated GitHub's records and the low-level changes every action shares.

`SimulatedGitHub.__init__` creates the stores (`repositories`, `users`,
`issues`, `comments`...); these methods read and change them, and send no
webhook: the callers that act as the bot or as a person do that.
"""

from __future__ import annotations

from demo.github.rest import HTTPError, iso_time


class State:
    """Ids, users, issues, comments, states, timelines and roles: the records behind every answer."""

    def _new_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _add_user(self, login: str, type: str) -> dict:
        user = self.users.get(login)
        if user is None:
            user = self.users[login] = {"id": self._new_id("user"), "type": type}
        else:
            user["type"] = type
        return user

    def _user(self, login: str) -> dict:
        user = self.users.get(login)
        if user is None:
            user = self._add_user(login, "Bot" if login.endswith("[bot]") else "User")
        return user

    def _issue(self, repo: str, number: int) -> dict:
        try:
            return self.issues[repo][int(number)]
        except KeyError:
            raise KeyError(f"no issue {repo}#{number}") from None

    def _pull(self, repo: str, number: int) -> dict:
        issue = self._issue(repo, number)
        if not issue["pull_request"]:
            raise KeyError(f"{repo}#{number} is an issue, not a pull request")
        return issue

    def _issue_or_404(self, repo: str, number: str) -> dict:
        issue = self.issues.get(repo, {}).get(int(number))
        if issue is None:
            raise HTTPError(404, "Not Found")
        if issue.get("deleted"):
            raise HTTPError(410, "This issue was deleted")  # a transferred one: 301 to browsers, gone here
        return issue

    def _comment(self, comment_id: int) -> dict:
        try:
            return self.comments[int(comment_id)]
        except KeyError:
            raise KeyError(f"no comment {comment_id}") from None

    def _comment_or_404(self, repo: str, comment_id: str) -> dict:
        comment = self.comments.get(int(comment_id))
        if comment is None or comment["repo"] != repo:
            raise HTTPError(404, "Not Found")
        return comment

    def _kind(self, issue: dict) -> str:
        return "pull_request" if issue["pull_request"] else "issues"

    def _create_issue(self, repo: str, title: str, body: str, user: str) -> dict:
        if repo not in self.repositories:
            raise KeyError(f"no repository {repo}")
        self._user(user)
        number = max(self.issues[repo], default=0) + 1
        now = iso_time(self.clock())
        issue = {
            "id": self._new_id("issue"),
            "repo": repo,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [],
            "assignees": [],
            "user": user,
            "html_url": f"{self.web_url}/{repo}/issues/{number}",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "closed_by": None,
            "locked": False,
            "pull_request": None,
            "comment_ids": [],
            "timeline": [],
            "seq": self._next_seq(),
        }
        self.issues[repo][number] = issue
        return issue

    def _create_comment(self, repo: str, issue: dict, body: str, user: str) -> dict:
        self._user(user)
        now = iso_time(self.clock())
        comment_id = self._new_id("comment")
        page = "pull" if issue["pull_request"] else "issues"
        comment = {
            "id": comment_id,
            "repo": repo,
            "issue_number": issue["number"],
            "body": body,
            "user": user,
            "created_at": now,
            "updated_at": now,
            "html_url": f"{self.web_url}/{repo}/{page}/{issue['number']}#issuecomment-{comment_id}",
            "seq": self._next_seq(),
        }
        self.comments[comment_id] = comment
        issue["comment_ids"].append(comment_id)
        issue["updated_at"] = now
        return comment

    def _edit_comment(self, comment: dict, body: str) -> None:
        comment["body"] = body
        comment["updated_at"] = iso_time(self.clock())

    def _edit_issue(self, issue: dict, body: str | None, title: str | None) -> dict:
        changes = {}
        if title is not None and title != issue["title"]:
            changes["title"] = {"from": issue["title"]}
            issue["title"] = title
        if body is not None and body != issue["body"]:
            changes["body"] = {"from": issue["body"]}
            issue["body"] = body
        if changes:
            issue["updated_at"] = iso_time(self.clock())
        return changes

    def _set_state(self, issue: dict, state: str, actor: str, reason: str | None, kind: str | None = None, commit_id: str | None = None) -> None:
        now = iso_time(self.clock())
        # The issue's events (GET .../issues/N/events): a close by a commit or a
        # pull request's closing keyword carries that commit's id.
        issue.setdefault("events", []).append(
            {"id": self._new_id("event"), "event": "closed" if state == "closed" else "reopened", "actor": actor, "commit_id": commit_id, "created_at": now}
        )
        issue["state"] = state
        issue["state_reason"] = reason
        issue["updated_at"] = now
        issue["closed_at"] = now if state == "closed" else None
        issue["closed_by"] = actor if state == "closed" else None
        text = {"merged": "merged this", "closed": "closed this", "open": "reopened this"}[kind or state]
        self._timeline(issue, actor, text)

    def _timeline(self, issue: dict, actor: str, text: str) -> None:
        issue["timeline"].append({"seq": self._next_seq(), "at": iso_time(self.clock()), "actor": actor, "text": text})

    def _role(self, repo: str, login: str) -> str:
        role = next((p for (r, l), p in self.permissions.items() if r == repo and l.lower() == login.lower()), None)
        if role is not None:
            return role
        if login.lower() == self.repositories[repo]["owner"].lower():
            return "admin"
        return "none" if self.repositories[repo]["private"] else "read"

    def _association(self, repo: str, login: str) -> str:
        if login.lower() == self.repositories[repo]["owner"].lower():
            return "OWNER"
        if self.permissions.get((repo, login), "none") in ("admin", "maintain", "write", "triage"):
            return "COLLABORATOR"
        return "NONE"
