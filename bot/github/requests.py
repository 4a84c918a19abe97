"""The GitHub writes handlers queue, described as data (see `storage.outbox`)."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote

from storage.outbox import Write


def comment(installation_id: int, repository: str, number: int, body: str, then: Optional[dict] = None) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/comments", body={"body": body}, then=then)


def edit_comment(installation_id: int, repository: str, comment_id: int, body: str) -> Write:
    return Write(installation_id, method="PATCH", path=f"/repos/{repository}/issues/comments/{comment_id}", body={"body": body})


def delete_comment(installation_id: int, repository: str, comment_id: int) -> Write:
    return Write(installation_id, method="DELETE", path=f"/repos/{repository}/issues/comments/{comment_id}")


def add_labels(installation_id: int, repository: str, number: int, labels: list[str]) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/labels", body={"labels": labels})


def remove_label(installation_id: int, repository: str, number: int, label: str) -> Write:
    return Write(installation_id, method="DELETE", path=f"/repos/{repository}/issues/{number}/labels/{quote(label, safe='')}")


def create_issue(installation_id: int, repository: str, title: str, body: str, labels: list[str], then: Optional[dict] = None) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues", body={"title": title, "body": body, "labels": labels}, then=then)


def update_issue(installation_id: int, repository: str, number: int, **fields) -> Write:
    return Write(installation_id, method="PATCH", path=f"/repos/{repository}/issues/{number}", body=fields)


def assign(installation_id: int, repository: str, number: int, logins: list[str]) -> Write:
    return Write(installation_id, method="POST", path=f"/repos/{repository}/issues/{number}/assignees", body={"assignees": logins})


def named(installation_id: int, kind: str, key: str, **body) -> Write:
    """A write rendered from the current state when sent; pending ones coalesce."""
    return Write(installation_id, kind=kind, body=body, coalesce_key=f"{kind}:{key}")
