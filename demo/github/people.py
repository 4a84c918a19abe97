"""People's actions on GitHub, each returning the webhook delivery GitHub would send."""

from __future__ import annotations

import secrets
from typing import Iterable

from demo.github.rest import BOT_LOGIN, iso_time


class People:
    """Human actions that GitHub would deliver as webhooks: `(event, payload)` to feed to the bot."""

    def human_comment(self, repo: str, number: int, login: str, body: str) -> tuple[str, dict]:
        """`login` comments; returns the issue_comment.created delivery."""
        with self.lock:
            issue = self._issue(repo, number)
            comment = self._create_comment(repo, issue, body, login)
            return self._human(
                "issue_comment", "created", repo, login, issue=issue, comment=comment
            )

    def human_edit_comment(self, comment_id: int, login: str, body: str) -> tuple[str, dict]:
        """`login` edits a comment; returns issue_comment.edited with `changes.body.from`."""
        with self.lock:
            comment = self._comment(comment_id)
            old = comment["body"]
            self._edit_comment(comment, body)
            issue = self._issue(comment["repo"], comment["issue_number"])
            return self._human(
                "issue_comment", "edited", comment["repo"], login, issue=issue, comment=comment,
                extra={"changes": {"body": {"from": old}}},
            )

    def human_label(self, repo: str, number: int, login: str, label: str) -> tuple[str, dict]:
        """`login` adds a label; returns issues.labeled (pull_request.labeled on a pull request)."""
        with self.lock:
            issue = self._issue(repo, number)
            self._attach_label(repo, issue, label, login)
            return self._human(
                self._kind(issue), "labeled", repo, login, issue=issue,
                extra={"label": self._label_json(repo, label, self.api_url)},
            )

    def human_unlabel(self, repo: str, number: int, login: str, label: str) -> tuple[str, dict]:
        """`login` removes a label; returns issues.unlabeled."""
        with self.lock:
            issue = self._issue(repo, number)
            if label not in issue["labels"]:
                raise KeyError(f"{repo}#{number} has no label {label!r}")
            self._detach_label(issue, label, login)
            return self._human(
                self._kind(issue), "unlabeled", repo, login, issue=issue,
                extra={"label": self._label_json(repo, label, self.api_url)},
            )

    def human_edit_issue(
        self, repo: str, number: int, login: str, body: str, title: str | None = None
    ) -> tuple[str, dict]:
        """`login` edits the body (and title); returns issues.edited with `changes.body.from`."""
        with self.lock:
            issue = self._issue(repo, number)
            changes = self._edit_issue(issue, body=body, title=title)
            return self._human(
                self._kind(issue), "edited", repo, login, issue=issue, extra={"changes": changes}
            )

    def human_close_issue(
        self, repo: str, number: int, login: str, state_reason: str = "completed"
    ) -> tuple[str, dict]:
        """`login` closes the issue; returns issues.closed."""
        with self.lock:
            issue = self._issue(repo, number)
            self._set_state(issue, "closed", login, state_reason)
            return self._human("issues", "closed", repo, login, issue=issue)

    def close_by_pull_request(self, repo: str, number: int, pull_number: int) -> tuple[str, dict]:
        """GitHub closes issue `number` because merged pull request `pull_number` names it with a
        closing keyword: the close is the merger's, with the merge commit's id; returns issues.closed."""
        with self.lock:
            pull = self._pull(repo, pull_number)["pull_request"]
            issue = self._issue(repo, number)
            merger = pull["merged_by"] or pull.get("user") or BOT_LOGIN
            self._set_state(issue, "closed", merger, "completed", commit_id=pull["merge_commit_sha"] or secrets.token_hex(20))
            return self._human("issues", "closed", repo, merger, issue=issue)

    def human_delete_issue(self, repo: str, number: int, login: str) -> tuple[str, dict]:
        """`login` (an admin) deletes the issue: it is gone (GitHub answers 410 Gone); returns issues.deleted."""
        with self.lock:
            issue = self._issue(repo, number)
            delivery = self._human("issues", "deleted", repo, login, issue=issue)
            issue["deleted"] = True
            return delivery

    def human_transfer_issue(self, repo: str, number: int, new_repo: str, login: str) -> list[tuple[str, dict]]:
        """`login` transfers the issue to `new_repo` (its comments and labels go with it); returns
        issues.transferred (to the old repository's installation) and issues.opened with
        `changes.old_issue` (to the new one's), as GitHub sends them."""
        with self.lock:
            issue = self._issue(repo, number)
            moved = self._create_issue(new_repo, issue["title"], issue["body"], issue["user"])
            for name in issue["labels"]:
                self._attach_label(new_repo, moved, name, login)
            for comment_id in issue["comment_ids"]:
                self.comments[comment_id].update(repo=new_repo, issue_number=moved["number"])
            moved["comment_ids"] = list(issue["comment_ids"])
            issue["comment_ids"] = []
            issue["deleted"] = True  # the old address answers 404 (GitHub redirects browsers only)
            old = self._delivery("issues", "transferred", repo, login, self.api_url, self._installation_of(repo), issue=issue,
                                 extra={"changes": {"new_issue": self._issue_json(new_repo, moved, self.api_url), "new_repository": self._repo_json(new_repo, self.api_url)}})
            new = self._delivery("issues", "opened", new_repo, login, self.api_url, self._installation_of(new_repo), issue=moved,
                                 extra={"changes": {"old_issue": self._issue_json(repo, issue, self.api_url), "old_repository": self._repo_json(repo, self.api_url)}})
            deliveries = [("issues", old), ("issues", new)]
            self.human_events.extend(deliveries)
            return deliveries

    def human_reopen_issue(self, repo: str, number: int, login: str) -> tuple[str, dict]:
        """`login` reopens the issue; returns issues.reopened (pull_request.reopened on a pull request)."""
        with self.lock:
            issue = self._issue(repo, number)
            self._set_state(issue, "open", login, "reopened")
            return self._human(self._kind(issue), "reopened", repo, login, issue=issue)

    def human_open_issue(
        self, repo: str, title: str, body: str, login: str, labels: Iterable[str] = ()
    ) -> tuple[str, dict]:
        """`login` opens an issue (with labels, as an issue form does); returns issues.opened.

        GitHub also sends issues.labeled for each label; this returns only the opened delivery.
        """
        with self.lock:
            issue = self.open_issue(repo, title, body, login, labels)
            return self._human("issues", "opened", repo, login, issue=issue)

    def human_open_pull_request(
        self,
        repo: str,
        title: str,
        body: str,
        login: str,
        head_repo: str | None = None,
        head_ref: str | None = None,
        base_ref: str | None = None,
    ) -> tuple[str, dict]:
        """`login` opens a pull request; returns pull_request.opened."""
        with self.lock:
            issue = self.open_pull_request(repo, title, body, login, head_repo, head_ref, base_ref)
            return self._human("pull_request", "opened", repo, login, issue=issue)

    def human_merge_pull_request(self, repo: str, number: int, merged_by: str) -> tuple[str, dict]:
        """`merged_by` merges it; returns pull_request.closed with merged true."""
        with self.lock:
            issue = self._pull(repo, number)
            pull = issue["pull_request"]
            pull.update(
                merged=True,
                merged_at=iso_time(self.clock()),
                merged_by=merged_by,
                merge_commit_sha=secrets.token_hex(20),
            )
            self._set_state(issue, "closed", merged_by, None, kind="merged")
            return self._human("pull_request", "closed", repo, merged_by, issue=issue)

    def human_close_pull_request(self, repo: str, number: int, login: str) -> tuple[str, dict]:
        """`login` closes it without merging; returns pull_request.closed with merged false."""
        with self.lock:
            issue = self._pull(repo, number)
            self._set_state(issue, "closed", login, None)
            return self._human("pull_request", "closed", repo, login, issue=issue)
