"""What the inbox records of a delivery, decided from the raw JSON alone."""

from __future__ import annotations

from typing import Optional

from storage.inbox import NewDelivery


def ordering_key(delivery_id: str, event: str, payload: dict) -> str:
    """Deliveries with one key take effect one at a time, in the order received:
    everything about one issue or pull request, or one installation."""
    repository = (payload.get("repository") or {}).get("full_name")
    for field in ("issue", "pull_request"):
        item = payload.get(field)
        if repository and isinstance(item, dict) and isinstance(item.get("number"), int):
            return f"{repository}#{item['number']}"
    if event.startswith("installation"):
        return f"installation:{(payload.get('installation') or {}).get('id')}"
    if repository:
        return f"{repository}:{event}"
    return f"delivery:{delivery_id}"


def delivery_from(delivery_id: str, event: str, action: Optional[str], payload: dict, body: bytes) -> NewDelivery:
    installation = payload.get("installation")
    installation_id = installation.get("id") if isinstance(installation, dict) else None
    repository = payload.get("repository")
    return NewDelivery(
        delivery_id=delivery_id[:100],
        event=event[:60],
        action=action[:60] if action else None,
        installation_id=installation_id if isinstance(installation_id, int) else None,
        repository=repository.get("full_name") if isinstance(repository, dict) else None,
        ordering_key=ordering_key(delivery_id, event, payload)[:250],
        payload=body.decode("utf-8"),
    )
