"""The GitHub writes handlers queue, described as data (see `storage.outbox`).

Two kinds of write need code of a stage when they are sent, and both are named
by typed references, never by strings typed at the call site:

- a `Rendered` write is rendered from the current state when it is sent (the
  summary, the evaluation and award-review issues, the pull request comment):
  `@Rendered.kind("summary")` on the function that renders it, then
  `prepare_summary.write(installation_id, key, **body)` queues one;
- a `FollowUp` records what GitHub answered (the id of a comment the bot
  created): `@FollowUp.step("remember_summary")` on the function, then `remember_summary.then(...)`
  is what a write carries.

Each registers itself once, at import, under the name stored rows carry;
a name registered twice fails at import, a reference that does not exist fails
where it is written (an AttributeError), and the sender refuses, loudly, a
stored name that nothing registered.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Optional
from urllib.parse import quote

from storage.outbox import Write


class Prepared:
    """A write ready to send; `skip` when there is nothing left to do."""

    def __init__(self, method: str = "", path: str = "", body: Any = None, skip: bool = False):
        self.method, self.path, self.body, self.skip = method, path, body, skip


class FollowUp:
    """A step run with GitHub's answer to a write: `fn(session, then, answer)`."""

    registry: ClassVar[dict[str, "FollowUp"]] = {}

    def __init__(self, fn: Callable, name: str):
        if name in FollowUp.registry:
            raise ValueError(f"follow-up {name!r} registered twice")
        self.fn, self.name = fn, name
        FollowUp.registry[name] = self

    @classmethod
    def step(cls, name: str) -> Callable[[Callable], "FollowUp"]:
        """Registers the decorated function under `name`, the name stored rows carry."""
        return lambda fn: cls(fn, name)

    def then(self, **args: Any) -> dict:
        """What a write carries so that this step runs with its answer."""
        return {"op": self.name, **args}

    def __call__(self, session, then: dict, answer) -> None:
        self.fn(session, then, answer)


class Rendered:
    """A write rendered when sent: `fn(session, write, body, now) -> Prepared`."""

    registry: ClassVar[dict[str, "Rendered"]] = {}

    def __init__(self, fn: Callable, name: str):
        if name in Rendered.registry:
            raise ValueError(f"rendered write {name!r} registered twice")
        self.fn, self.name = fn, name
        Rendered.registry[name] = self

    @classmethod
    def kind(cls, name: str) -> Callable[[Callable], "Rendered"]:
        return lambda fn: cls(fn, name)

    def write(self, installation_id: int, key: str, **body: Any) -> Write:
        """Queues one; pending ones of the same key coalesce (many bids, one edit)."""
        return Write(installation_id, kind=self.name, body=body, coalesce_key=f"{self.name}:{key}")

    def __call__(self, session, write, body, now) -> Prepared:
        return self.fn(session, write, body, now)


def comment(installation_id: int, repository: str, number: int, body: str, then: Optional[dict] = None) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/comments", body={"body": body}, then=then)


def edit_comment(installation_id: int, repository: str, comment_id: int, body: str) -> Write:
    return Write(installation_id, method="PATCH", path=f"/repos/{repository}/issues/comments/{comment_id}", body={"body": body})


def delete_comment(installation_id: int, repository: str, comment_id: int) -> Write:
    return Write(installation_id, method="DELETE", path=f"/repos/{repository}/issues/comments/{comment_id}")


def delete_sealed_bid(installation_id: int, repository: str, comment_id: int) -> Write:
    """A sealed bid's comment goes before every other pending write of its installation."""
    return Write(installation_id, method="DELETE", path=f"/repos/{repository}/issues/comments/{comment_id}", priority=1)


def add_labels(installation_id: int, repository: str, number: int, labels: list[str]) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/labels", body={"labels": labels})


def remove_label(installation_id: int, repository: str, number: int, label: str) -> Write:
    return Write(installation_id, method="DELETE", path=f"/repos/{repository}/issues/{number}/labels/{quote(label, safe='')}")


def assign(installation_id: int, repository: str, number: int, logins: list[str]) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/assignees", body={"assignees": logins})


def set_issue_state(installation_id: int, repository: str, number: int, state: str) -> Write:
    """Reopens (`open`) or closes (`closed`) an issue."""
    return Write(installation_id, method="PATCH", path=f"/repos/{repository}/issues/{number}", body={"state": state})
