"""Pull request reviews, check runs and commit statuses: what acceptance reads of a merge.

Reviews are listed as GitHub's REST API lists them (oldest first, states in
capitals); the `pull_request_review` delivery carries the review with its
state in lower case, as GitHub's webhooks do. Check runs and statuses are
attached to a commit (a pull request's head commit by default).
"""

from __future__ import annotations

from demo.github.rest import DEFAULT_PER_PAGE, MAX_PER_PAGE, Context, HTTPError, Reply, iso_time, node_id


class Reviews:
    """`GET .../pulls/N/reviews`, `.../commits/SHA/check-runs`, `.../commits/SHA/status`, and people reviewing."""

    # -- seeding (no webhook)
    def head_sha(self, repo: str, number: int) -> str:
        with self.lock:
            return self._pull(repo, number)["pull_request"]["head_sha"]

    def add_review(self, repo: str, number: int, login: str, state: str = "APPROVED", body: str = "") -> dict:
        """`login` reviews pull request `number` (APPROVED, CHANGES_REQUESTED, COMMENTED), without a webhook."""
        with self.lock:
            pull = self._pull(repo, number)["pull_request"]
            self._user(login)
            review = {
                "id": self._new_id("review"),
                "user": login,
                "state": state.upper(),
                "body": body,
                "commit_id": pull["head_sha"],
                "submitted_at": iso_time(self.clock()),
                "repo": repo,
                "number": number,
            }
            self.reviews.setdefault((repo, number), []).append(review)
            return review

    def add_check_run(self, repo: str, number: int, name: str, conclusion: str | None = "success") -> dict:
        """A check run on the head commit of pull request `number`: `conclusion` None is still in progress."""
        with self.lock:
            sha = self.head_sha(repo, number)
            run = {
                "id": self._new_id("check"),
                "name": name,
                "head_sha": sha,
                "status": "completed" if conclusion else "in_progress",
                "conclusion": conclusion,
            }
            self.check_runs.setdefault((repo, sha), []).append(run)
            return run

    def add_status(self, repo: str, number: int, context: str, state: str = "success") -> dict:
        """A commit status (success, pending, failure, error) on the head commit; the latest per context counts."""
        with self.lock:
            sha = self.head_sha(repo, number)
            status = {"id": self._new_id("status"), "context": context, "state": state, "created_at": iso_time(self.clock())}
            kept = [s for s in self.statuses.get((repo, sha), []) if s["context"] != context]
            self.statuses[(repo, sha)] = kept + [status]
            return status

    # -- people (a webhook)
    def human_review(self, repo: str, number: int, login: str, state: str = "APPROVED", body: str = "") -> tuple[str, dict]:
        """`login` submits a review; returns pull_request_review.submitted."""
        with self.lock:
            review = self.add_review(repo, number, login, state, body)
            issue = self._pull(repo, number)
            return self._human(
                "pull_request_review", "submitted", repo, login, issue=issue,
                extra={"review": self._review_json(review, self.api_url, webhook=True)},
            )

    # -- the endpoints
    def _list_reviews(self, context: Context, owner: str, repo: str, number: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        issue = self._issue_or_404(full, number)
        if not issue["pull_request"]:
            raise HTTPError(404, "Not Found")
        try:
            per_page = max(1, min(MAX_PER_PAGE, int(context.query.get("per_page", DEFAULT_PER_PAGE))))
            page = max(1, int(context.query.get("page", 1)))
        except ValueError as exc:
            raise HTTPError(422, "Validation Failed") from exc
        reviews = self.reviews.get((full, issue["number"]), [])
        chunk = reviews[(page - 1) * per_page : page * per_page]
        return Reply(200, [self._review_json(r, context.api) for r in chunk])

    def _list_check_runs(self, context: Context, owner: str, repo: str, sha: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        runs = self.check_runs.get((full, sha), [])
        return Reply(200, {"total_count": len(runs), "check_runs": [dict(r, node_id=node_id("CheckRun", r["id"])) for r in runs]})

    def _combined_status(self, context: Context, owner: str, repo: str, sha: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        statuses = self.statuses.get((full, sha), [])
        states = {s["state"] for s in statuses}
        # GitHub: failure if any failed or errored, pending if any is pending or there are none, else success.
        state = "failure" if states & {"failure", "error"} else "pending" if not statuses or "pending" in states else "success"
        return Reply(200, {"state": state, "sha": sha, "total_count": len(statuses), "statuses": statuses})

    def _review_json(self, review: dict, api: str, webhook: bool = False) -> dict:
        html = f"{self.web_url}/{review['repo']}/pull/{review['number']}#pullrequestreview-{review['id']}"
        return {
            "id": review["id"],
            "node_id": node_id("PullRequestReview", review["id"]),
            "user": self._user_json(review["user"], api),
            "body": review["body"] or None,
            "commit_id": review["commit_id"],
            "submitted_at": review["submitted_at"],
            "state": review["state"].lower() if webhook else review["state"],
            "html_url": html,
            "pull_request_url": f"{api}/repos/{review['repo']}/pulls/{review['number']}",
            "author_association": self._association(review["repo"], review["user"]),
            "_links": {"html": {"href": html}, "pull_request": {"href": f"{api}/repos/{review['repo']}/pulls/{review['number']}"}},
        }
