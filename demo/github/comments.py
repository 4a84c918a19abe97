"""Issue comments: listed a page at a time, posted, read, edited and deleted by the app; their JSON."""

from __future__ import annotations

from demo.github.rest import BOT_LOGIN, DEFAULT_PER_PAGE, MAX_PER_PAGE, Context, HTTPError, Reply, json_object, node_id


class Comments:
    """The comment endpoints and the comment JSON."""

    def _list_comments(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(context.query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(context.query.get("page", 1)))
        except ValueError as exc:
            raise HTTPError(422, "Validation Failed") from exc
        ids = issue["comment_ids"]
        since = context.query.get("since")
        if since:  # GitHub: only comments last updated at or after this time
            ids = [i for i in ids if self.comments[i]["updated_at"] >= since]
        chunk = ids[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(ids) // per_page))
        url = f"{context.api}/repos/{full}/issues/{issue['number']}/comments"
        links = []
        if page < last:
            links.append(f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{url}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{url}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{url}?per_page={per_page}&page={page - 1}>; rel="prev"')
        headers = {"link": ", ".join(links)} if links else {}
        return Reply(200, [self._comment_json(self.comments[i], context.api) for i in chunk], headers)

    def _post_comment(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        body = json_object(context.body).get("body")
        if not isinstance(body, str) or not body:
            raise HTTPError(422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
        comment = self._create_comment(full, issue, body, BOT_LOGIN)
        self._bot_event(context, "issue_comment", "created", full, issue=issue, comment=comment)
        return Reply(201, self._comment_json(comment, context.api))

    def _get_comment(self, context: Context, owner: str, repo: str, comment_id: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        return Reply(200, self._comment_json(self._comment_or_404(full, comment_id), context.api))

    def _patch_comment(self, context: Context, owner: str, repo: str, comment_id: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        comment = self._comment_or_404(full, comment_id)
        body = json_object(context.body).get("body")
        if not isinstance(body, str) or not body:
            raise HTTPError(422, "Validation Failed", [{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
        old = comment["body"]
        self._edit_comment(comment, body)
        issue = self._issue(full, comment["issue_number"])
        self._bot_event(context, "issue_comment", "edited", full, issue=issue, comment=comment, extra={"changes": {"body": {"from": old}}})
        return Reply(200, self._comment_json(comment, context.api))

    def _delete_comment(self, context: Context, owner: str, repo: str, comment_id: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        comment = self._comment_or_404(full, comment_id)
        issue = self._issue(full, comment["issue_number"])
        issue["comment_ids"].remove(comment["id"])
        self.deleted_comments[comment["id"]] = self.comments.pop(comment["id"])
        self._bot_event(context, "issue_comment", "deleted", full, issue=issue, comment=comment)
        return Reply(204)

    def _comment_json(self, comment: dict, api: str) -> dict:
        repo = comment["repo"]
        url = f"{api}/repos/{repo}/issues/comments/{comment['id']}"
        return {
            "url": url,
            "html_url": comment["html_url"],
            "issue_url": f"{api}/repos/{repo}/issues/{comment['issue_number']}",
            "id": comment["id"],
            "node_id": node_id("IssueComment", comment["id"]),
            "user": self._user_json(comment["user"], api),
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "author_association": self._association(repo, comment["user"]),
            "body": comment["body"],
            "reactions": self._reactions(url),
            "performed_via_github_app": None,
        }
