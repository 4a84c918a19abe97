"""Reading the simulator back: requests counted, deliveries taken, issues, threads rendered."""

from __future__ import annotations

import re

# GitHub hides HTML comments (the bot's hidden markers) when it renders a body.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

RULE = "-" * 72


class Inspection:
    """What a test or the demo asks the simulator after the bot has acted. Thread-safe."""

    def count_requests(self, method: str | None = None, path_regex: str | None = None) -> int:
        """How many recorded requests match the method and the regex (searched in the path)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path_regex is None or re.search(path_regex, r.path))
            )

    def pop_events(self) -> list[tuple[str, dict]]:
        """Takes every recorded delivery out of `events`, oldest first."""
        with self.lock:
            taken, self.events = self.events, []
            return taken

    def issue(self, repo: str, number: int) -> dict:
        """The stored issue or pull request."""
        with self.lock:
            return self._issue(repo, number)

    def issue_comments(self, repo: str, number: int) -> list[dict]:
        """The live comments of an issue, oldest first."""
        with self.lock:
            issue = self._issue(repo, number)
            return [self.comments[i] for i in issue["comment_ids"]]

    def render_thread(self, repo: str, number: int) -> str:
        """The issue or pull request as GitHub shows it, as plain text for a terminal."""
        with self.lock:
            issue = self._issue(repo, number)
            pull = issue["pull_request"]
            if pull and pull["merged"]:
                state = "Merged"
            else:
                state = issue["state"].capitalize()
            kind = "pull request" if pull else "issue"
            lines = [
                RULE,
                f"{issue['title']} #{issue['number']}  [{state}]",
                f"{repo}: @{issue['user']} opened this {kind} at {_show_time(issue['created_at'])}",
                "Labels: " + (", ".join(issue["labels"]) or "none"),
                "Assignees: " + (", ".join(f"@{a}" for a in issue["assignees"]) or "none"),
                RULE,
                _indented(issue["body"]),
            ]
            entries = [(c["seq"], "comment", c) for c in (self.comments[i] for i in issue["comment_ids"])]
            entries += [(t["seq"], "timeline", t) for t in issue["timeline"]]
            previous = "comment"
            for _, what, entry in sorted(entries, key=lambda e: e[0]):
                if what == "comment" or previous == "comment":
                    lines.append("")
                previous = what
                if what == "comment":
                    edited = " (edited)" if entry["updated_at"] != entry["created_at"] else ""
                    lines.append(f"@{entry['user']} commented at {_show_time(entry['created_at'])}{edited}:")
                    lines.append(_indented(entry["body"]))
                else:
                    lines.append(f"  * @{entry['actor']} {entry['text']} at {_show_time(entry['at'])}")
            lines.append(RULE)
            return "\n".join(lines) + "\n"


def _show_time(stamp: str) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC")


def _indented(body: str | None) -> str:
    """The body as GitHub shows it (hidden comments removed), indented under its heading."""
    text = HTML_COMMENT.sub("", body or "").strip("\n")
    if not text.strip():
        text = "No description provided."
    return "\n".join(f"    {line}".rstrip() for line in text.splitlines())
