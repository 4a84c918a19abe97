"""Handlers registered per (event, action), composed in one place (`bot.runtime`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from bot.pipeline.context import Context

Handler = Callable[["Context"], None]
# Decides from the raw payload, before any work, whether a delivery matters.
Accept = Callable[[dict], bool]


class Router:
    def __init__(self, *routers: "Router"):
        self._routes: dict[tuple[str, Optional[str]], list[tuple[Handler, Optional[Accept]]]] = defaultdict(list)
        for router in routers:
            for key, handlers in router._routes.items():
                self._routes[key].extend(handlers)

    def register(self, event: str, action: Optional[str] = None, accept: Optional[Accept] = None) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._routes[(event, action)].append((handler, accept))
            return handler

        return decorator

    def _candidates(self, event: str, action: Optional[str]) -> list[tuple[Handler, Optional[Accept]]]:
        found = list(self._routes.get((event, action), ()))
        if action is not None:
            found += self._routes.get((event, None), ())
        return found

    def handles(self, event: str, action: Optional[str], payload: Optional[dict] = None) -> bool:
        for _handler, accept in self._candidates(event, action):
            if accept is None or payload is None or accept(payload):
                return True
        return False

    def handlers(self, event: str, action: Optional[str], payload: dict) -> list[Handler]:
        return [h for h, accept in self._candidates(event, action) if accept is None or accept(payload)]
