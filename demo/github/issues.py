"""Issues and pull requests (a pull request is an issue with `pull_request` set): endpoints, assignees, JSON."""

from __future__ import annotations

from demo.github.rest import (
    BOT_LOGIN,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    Context,
    HTTPError,
    Reply,
    assignee_logins,
    iso_time,
    json_object,
    label_names,
    node_id,
)


class Issues:
    """Opening, listing, editing, closing and assigning issues, as the app does through the API."""

    def _post_issue(self, context: Context, owner: str, repo: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        body = json_object(context.body)
        if not body.get("title"):
            raise HTTPError(422, "Validation Failed", [{"resource": "Issue", "code": "missing_field", "field": "title"}])
        issue = self._create_issue(full, str(body["title"]), body.get("body") or "", BOT_LOGIN)
        self._bot_event(context, "issues", "opened", full, issue=issue)
        for name in label_names(body.get("labels") or []):
            if self._attach_label(full, issue, name, BOT_LOGIN):
                self._bot_event(context, "issues", "labeled", full, issue=issue, extra={"label": self._label_json(full, name, context.api)})
        for login in assignee_logins(body):
            self._assign(context, full, issue, login)
        return Reply(201, self._issue_json(full, issue, context.api))

    def _list_issues(self, context: Context, owner: str, repo: str) -> Reply:
        """Issues and pull requests, newest first, filtered by state, creator, labels and since."""
        full = self._repo_for(context, owner, repo)
        query = context.query
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(query.get("page", 1)))
        except ValueError as exc:
            raise HTTPError(422, "Validation Failed") from exc
        state = query.get("state", "open")
        wanted = [n for n in query.get("labels", "").split(",") if n]
        found = [
            issue for issue in self.issues[full].values()
            if state in ("all", issue["state"])
            and query.get("creator") in (None, issue["user"])
            and all(n in issue["labels"] for n in wanted)
            and issue["updated_at"] >= query.get("since", "")
        ]
        found.sort(key=lambda issue: issue["number"], reverse=query.get("direction", "desc") == "desc")
        chunk = found[(page - 1) * per_page : page * per_page]
        return Reply(200, [self._issue_json(full, issue, context.api) for issue in chunk])

    def _get_issue(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        return Reply(200, self._issue_json(full, self._issue_or_404(full, number), context.api))

    def _patch_issue(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        body = json_object(context.body)
        changes = self._edit_issue(issue, body=body.get("body"), title=body.get("title"))
        if changes:
            self._bot_event(context, self._kind(issue), "edited", full, issue=issue, extra={"changes": changes})
        if "labels" in body:
            self._replace_labels(context, full, issue, label_names(body["labels"] or []))
        if "assignees" in body or "assignee" in body:
            wanted = assignee_logins(body)
            for login in [a for a in issue["assignees"] if a not in wanted]:
                self._unassign(context, full, issue, login)
            for login in wanted:
                self._assign(context, full, issue, login)
        state = body.get("state")
        if state in ("open", "closed") and state != issue["state"]:
            reason = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
            self._set_state(issue, state, BOT_LOGIN, reason)
            self._bot_event(context, self._kind(issue), "closed" if state == "closed" else "reopened", full, issue=issue)
        elif state not in (None, "open", "closed"):
            raise HTTPError(422, "Validation Failed", [{"resource": "Issue", "code": "invalid", "field": "state"}])
        return Reply(200, self._issue_json(full, issue, context.api))

    def _list_issue_events(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        try:
            per_page = max(1, min(100, int(context.query.get("per_page", 30))))
            page = max(1, int(context.query.get("page", 1)))
        except ValueError as exc:
            raise HTTPError(422, "Validation Failed") from exc
        events = issue.get("events", [])[(page - 1) * per_page : page * per_page]
        return Reply(200, [
            {
                "id": e["id"],
                "node_id": node_id("ClosedEvent" if e["event"] == "closed" else "ReopenedEvent", e["id"]),
                "url": f"{context.api}/repos/{full}/issues/events/{e['id']}",
                "actor": self._user_json(e["actor"], context.api),
                "event": e["event"],
                "commit_id": e["commit_id"],
                "commit_url": f"{context.api}/repos/{full}/commits/{e['commit_id']}" if e["commit_id"] else None,
                "created_at": e["created_at"],
            }
            for e in events
        ])

    def _add_assignees(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for login in assignee_logins(json_object(context.body)):
            self._assign(context, full, issue, login)
        return Reply(201, self._issue_json(full, issue, context.api))

    def _remove_assignees(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        for login in assignee_logins(json_object(context.body)):
            if login in issue["assignees"]:
                self._unassign(context, full, issue, login)
        return Reply(200, self._issue_json(full, issue, context.api))

    def _assign(self, context: Context, repo: str, issue: dict, login: str) -> None:
        if login in issue["assignees"]:
            return
        self._user(login)
        issue["assignees"].append(login)
        issue["updated_at"] = iso_time(self.clock())
        self._timeline(issue, BOT_LOGIN, f"assigned @{login}")
        self._bot_event(context, self._kind(issue), "assigned", repo, issue=issue, extra={"assignee": self._user_json(login, context.api)})

    def _unassign(self, context: Context, repo: str, issue: dict, login: str) -> None:
        issue["assignees"].remove(login)
        issue["updated_at"] = iso_time(self.clock())
        self._timeline(issue, BOT_LOGIN, f"unassigned @{login}")
        self._bot_event(context, self._kind(issue), "unassigned", repo, issue=issue, extra={"assignee": self._user_json(login, context.api)})

    def _reactions(self, url: str) -> dict:
        counts = dict.fromkeys(["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"], 0)
        return {"url": f"{url}/reactions", "total_count": 0, **counts}

    def _issue_json(self, repo: str, issue: dict, api: str) -> dict:
        url = f"{api}/repos/{repo}/issues/{issue['number']}"
        assignees = [self._user_json(a, api) for a in issue["assignees"]]
        data = {
            "url": url,
            "repository_url": f"{api}/repos/{repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": issue["html_url"],
            "id": issue["id"],
            "node_id": node_id("Issue", issue["id"]),
            "number": issue["number"],
            "title": issue["title"],
            "user": self._user_json(issue["user"], api),
            "labels": [self._label_json(repo, n, api) for n in issue["labels"]],
            "state": issue["state"],
            "locked": issue["locked"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(issue["comment_ids"]),
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "author_association": self._association(repo, issue["user"]),
            "active_lock_reason": None,
            "body": issue["body"],
            "closed_by": self._user_json(issue["closed_by"], api) if issue["closed_by"] else None,
            "reactions": self._reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue["state_reason"],
        }
        pull = issue["pull_request"]
        if pull:
            html = f"{self.web_url}/{repo}/pull/{issue['number']}"
            data["html_url"] = html
            data["draft"] = False
            data["pull_request"] = {
                "url": f"{api}/repos/{repo}/pulls/{issue['number']}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": pull["merged_at"],
            }
        return data

    def _pull_json(self, repo: str, issue: dict, api: str) -> dict:
        pull = issue["pull_request"]
        number = issue["number"]
        url = f"{api}/repos/{repo}"
        html = f"{self.web_url}/{repo}/pull/{number}"
        head_owner = self.repositories[pull["head_repo"]]["owner"]
        assignees = [self._user_json(a, api) for a in issue["assignees"]]
        links = {
            "self": f"{url}/pulls/{number}",
            "html": html,
            "issue": f"{url}/issues/{number}",
            "comments": f"{url}/issues/{number}/comments",
            "review_comments": f"{url}/pulls/{number}/comments",
            "review_comment": f"{url}/pulls/comments{{/number}}",
            "commits": f"{url}/pulls/{number}/commits",
            "statuses": f"{url}/statuses/{pull['head_sha']}",
        }
        return {
            "url": links["self"],
            "id": pull["id"],
            "node_id": node_id("PullRequest", pull["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": links["issue"],
            "number": number,
            "state": issue["state"],
            "locked": issue["locked"],
            "title": issue["title"],
            "user": self._user_json(issue["user"], api),
            "body": issue["body"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "merged_at": pull["merged_at"],
            "merge_commit_sha": pull["merge_commit_sha"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self._label_json(repo, n, api) for n in issue["labels"]],
            "milestone": None,
            "draft": False,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "head": {
                "label": f"{head_owner}:{pull['head_ref']}",
                "ref": pull["head_ref"],
                "sha": pull["head_sha"],
                "user": self._user_json(head_owner, api),
                "repo": self._repo_json(pull["head_repo"], api),
            },
            "base": {
                "label": f"{self.repositories[repo]['owner']}:{pull['base_ref']}",
                "ref": pull["base_ref"],
                "sha": pull["base_sha"],
                "user": self._user_json(self.repositories[repo]["owner"], api),
                "repo": self._repo_json(repo, api),
            },
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": self._association(repo, issue["user"]),
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": pull["merged"],
            "mergeable": None if issue["state"] == "closed" else True,
            "rebaseable": None if issue["state"] == "closed" else True,
            "mergeable_state": "unknown" if issue["state"] == "closed" else "clean",
            "merged_by": self._user_json(pull["merged_by"], api) if pull["merged_by"] else None,
            "comments": len(issue["comment_ids"]),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }
