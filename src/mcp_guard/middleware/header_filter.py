"""HeaderFilterMiddleware: narrows what one request may see and call (see `filters.py`)."""

from __future__ import annotations

from typing import Any

from ..asgi import Scope
from ..caches import BoundedMemo
from ..filters import EXCLUDE_TOOLS, INCLUDE_CLIENTS, INCLUDE_TOOLS, HeaderFilter
from ..state import RequestState

_FILTER_HEADERS = frozenset((*INCLUDE_CLIENTS, *INCLUDE_TOOLS, *EXCLUDE_TOOLS))
_CACHE_SIZE = 1024

FilterKey = tuple[tuple[bytes, bytes], ...]


class HeaderFilterMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app
        # A client sends the same filter headers on every request: parse each distinct set once
        # (saves building the pattern sets per request, ~7 µs). Rules are immutable, so sharing is safe.
        self._filters: BoundedMemo[FilterKey, HeaderFilter | None] = BoundedMemo(_CACHE_SIZE)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            rule = self._filter(scope)
            if rule is not None:
                RequestState.from_scope(scope).access.append(rule)
        await self.app(scope, receive, send)

    def _filter(self, scope: Scope) -> HeaderFilter | None:
        key = tuple((name, value) for name, value in scope.get("headers", ()) if name in _FILTER_HEADERS)
        if not key:
            return None
        rule = self._filters.lookup(key)
        return rule if rule is not None else self._filters.remember(key, HeaderFilter.from_scope(scope))
