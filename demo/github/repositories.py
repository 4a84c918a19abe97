"""Repositories, their files, collaborators' permissions, teams; and users, organizations and repositories as JSON."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

from demo.github.rest import LEGACY_PERMISSION, ROLES, Context, HTTPError, Reply, node_id


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repositories:
    """The endpoints of repositories, contents, permissions and teams, and their JSON."""

    def _get_repo(self, context: Context, owner: str, repo: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        return Reply(200, self._repo_json(full, context.api, full_model=True))

    def _get_content(self, context: Context, owner: str, repo: str, path: str | None = None) -> Reply:
        full = self._repo_for(context, owner, repo)
        record = self.repositories[full]
        ref = context.query.get("ref")
        branch = record["default_branch"]
        if ref not in (None, "", branch, f"refs/heads/{branch}", "HEAD"):
            raise HTTPError(404, f"No commit found for the ref {ref}")
        path = (path or "").strip("/")
        files = record["files"]
        if path in files:
            return Reply(200, self._content_json(full, path, files[path], context.api))
        prefix = path + "/" if path else ""
        children = sorted({p[len(prefix):].split("/", 1)[0] for p in files if p.startswith(prefix)})
        if not children:
            raise HTTPError(404, "Not Found")
        listing = []
        for child in children:
            child_path = prefix + child
            if child_path in files:
                entry = self._content_json(full, child_path, files[child_path], context.api)
                del entry["content"], entry["encoding"]
            else:
                entry = self._content_json(full, child_path, None, context.api)
            listing.append(entry)
        return Reply(200, listing)

    def _get_permission(self, context: Context, owner: str, repo: str, username: str) -> Reply:
        full = self._repo_for(context, owner, repo)
        role = self._role(full, username)
        user = self._user_json(username, context.api)
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        user["role_name"] = role
        return Reply(200, {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": user})

    def _get_team_membership(self, context: Context, org: str, team: str, username: str) -> Reply:
        members = next(
            (m for (o, t), m in self.teams.items() if o.lower() == org.lower() and t.lower() == team.lower()),
            set(),
        )
        if username.lower() not in {m.lower() for m in members}:
            raise HTTPError(404, "Not Found")
        return Reply(
            200,
            {
                "url": f"{context.api}/organizations/{self._user(org)['id']}/team/{team}/memberships/{username}",
                "role": "member",
                "state": "active",
            },
        )

    def _list_team_members(self, context: Context, org: str, team: str) -> Reply:
        members = next(
            (m for (o, t), m in self.teams.items() if o.lower() == org.lower() and t.lower() == team.lower()),
            None,
        )
        if members is None:
            raise HTTPError(404, "Not Found")
        return Reply(200, [self._user_json(login, context.api) for login in sorted(members)])

    def _list_collaborators(self, context: Context, owner: str, repo: str) -> Reply:
        """Collaborators with at least `permission` (pull, triage, push, maintain, admin)."""
        full = self._repo_for(context, owner, repo)
        wanted = {"pull": "read", "push": "write"}.get(context.query.get("permission", "pull"), context.query.get("permission", "pull"))
        if wanted not in ROLES:
            raise HTTPError(422, "Validation Failed")
        logins = [login for (r, login), _ in self.permissions.items() if r == full]
        owner_login = self.repositories[full]["owner"]
        if self._user(owner_login)["type"] == "User" and owner_login not in logins:
            logins.insert(0, owner_login)
        rank = {role: len(ROLES) - i for i, role in enumerate(ROLES)}
        chosen = [login for login in logins if rank[self._role(full, login)] >= rank[wanted] and self._role(full, login) != "none"]
        return Reply(200, [self._user_json(login, context.api) for login in chosen])

    def _user_json(self, login: str, api: str) -> dict:
        user = self._user(login)
        url = f"{api}/users/{quote(login)}"
        html = f"{self.web_url}/apps/{login.removesuffix('[bot]')}" if user["type"] == "Bot" else f"{self.web_url}/{login}"
        return {
            "login": login,
            "id": user["id"],
            "node_id": node_id(user["type"], user["id"]),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user['id']}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user["type"],
            "user_view_type": "public",
            "site_admin": False,
        }

    def _org_json(self, login: str, api: str) -> dict:
        org = self._user(login)
        url = f"{api}/orgs/{login}"
        return {
            "login": login,
            "id": org["id"],
            "node_id": node_id("Organization", org["id"]),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org['id']}?v=4",
            "description": None,
        }

    def _repo_json(self, full: str, api: str, full_model: bool = False) -> dict:
        record = self.repositories[full]
        url = f"{api}/repos/{full}"
        html = f"{self.web_url}/{full}"
        web_host = self.web_url.split("://", 1)[-1]
        open_count = sum(1 for i in self.issues.get(full, {}).values() if i["state"] == "open")
        data = {
            "id": record["id"],
            "node_id": node_id("Repository", record["id"]),
            "name": record["name"],
            "full_name": full,
            "private": record["private"],
            "owner": self._user_json(record["owner"], api),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": url,
            "forks_url": f"{url}/forks",
            "keys_url": f"{url}/keys{{/key_id}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "teams_url": f"{url}/teams",
            "hooks_url": f"{url}/hooks",
            "issue_events_url": f"{url}/issues/events{{/number}}",
            "events_url": f"{url}/events",
            "assignees_url": f"{url}/assignees{{/user}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "tags_url": f"{url}/tags",
            "blobs_url": f"{url}/git/blobs{{/sha}}",
            "git_tags_url": f"{url}/git/tags{{/sha}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "trees_url": f"{url}/git/trees{{/sha}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "languages_url": f"{url}/languages",
            "stargazers_url": f"{url}/stargazers",
            "contributors_url": f"{url}/contributors",
            "subscribers_url": f"{url}/subscribers",
            "subscription_url": f"{url}/subscription",
            "commits_url": f"{url}/commits{{/sha}}",
            "git_commits_url": f"{url}/git/commits{{/sha}}",
            "comments_url": f"{url}/comments{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "compare_url": f"{url}/compare/{{base}}...{{head}}",
            "merges_url": f"{url}/merges",
            "archive_url": f"{url}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{url}/downloads",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "milestones_url": f"{url}/milestones{{/number}}",
            "notifications_url": f"{url}/notifications{{?since,all,participating}}",
            "labels_url": f"{url}/labels{{/name}}",
            "releases_url": f"{url}/releases{{/id}}",
            "deployments_url": f"{url}/deployments",
            "created_at": record["created_at"],
            "updated_at": record["created_at"],
            "pushed_at": record["created_at"],
            "git_url": f"git://{web_host}/{full}.git",
            "ssh_url": f"git@{web_host}:{full}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": sum(len(v) for v in record["files"].values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if record["private"] else "public",
            "forks": 0,
            "open_issues": open_count,
            "watchers": 0,
            "default_branch": record["default_branch"],
            "custom_properties": {},
        }
        if full_model:
            data.update(temp_clone_token=None, network_count=0, subscribers_count=0)
        return data

    def _content_json(self, repo: str, path: str, text: str | None, api: str) -> dict:
        """A file's JSON with its base64 content, or a directory entry when `text` is None."""
        branch = self.repositories[repo]["default_branch"]
        url = f"{api}/repos/{repo}/contents/{quote(path)}?ref={branch}"
        name = path.rsplit("/", 1)[-1]
        if text is None:
            sha = hashlib.sha1(path.encode()).hexdigest()
            html = f"{self.web_url}/{repo}/tree/{branch}/{path}"
            git = f"{api}/repos/{repo}/git/trees/{sha}"
            return {
                "type": "dir", "size": 0, "name": name, "path": path, "sha": sha, "url": url,
                "git_url": git, "html_url": html, "download_url": None,
                "_links": {"self": url, "git": git, "html": html},
            }
        data = text.encode("utf-8")
        sha = blob_sha(data)
        encoded = base64.b64encode(data).decode("ascii")
        html = f"{self.web_url}/{repo}/blob/{branch}/{path}"
        git = f"{api}/repos/{repo}/git/blobs/{sha}"
        raw_host = self.web_url.replace("://", "://raw.", 1) if self.web_url.endswith("github.com") else self.web_url + "/raw"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": name,
            "path": path,
            "content": "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60)),
            "sha": sha,
            "url": url,
            "git_url": git,
            "html_url": html,
            "download_url": f"{raw_host}/{repo}/{branch}/{path}",
            "_links": {"self": url, "git": git, "html": html},
        }
