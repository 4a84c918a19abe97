"""Structured logs: one JSON object a line, with the delivery, installation and repository.

Secrets never reach a log line: the formatter masks anything shaped like a
GitHub token, a JWT or a PEM key, and the app never logs headers or bodies.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Optional

SECRET_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9_]{8,}|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"
)
_extra_secrets: list[str] = []


def register_secret(value: Optional[str]) -> None:
    """Values (the webhook secret, the private key) masked wherever they appear."""
    if value and len(value) >= 6:
        _extra_secrets.append(value)


def mask(text: str) -> str:
    text = SECRET_SHAPES.sub("[secret]", text)
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, "[secret]")
    return text


class JsonFormatter(logging.Formatter):
    FIELDS = ("delivery", "installation", "repository")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return mask(json.dumps(entry, ensure_ascii=False, default=str))


def configure(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; keep ours readable.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


class DeliveryLogger(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        kwargs.setdefault("extra", {}).update(self.extra)
        return msg, kwargs


def delivery_logger(delivery_id: str, installation_id: Optional[int], repository: Optional[str]) -> DeliveryLogger:
    return DeliveryLogger(
        logging.getLogger("devex_bot.delivery"),
        {"delivery": delivery_id, "installation": installation_id, "repository": repository},
    )
