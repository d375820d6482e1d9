"""HeaderFilterMiddleware: narrows what one request may see and call (see `filters.py`)."""

from __future__ import annotations

from typing import Any

from ..asgi import Scope
from ..filters import HeaderFilter
from ..state import RequestState


class HeaderFilterMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            rule = HeaderFilter.from_scope(scope)
            if rule is not None:
                RequestState.from_scope(scope).access.append(rule)
        await self.app(scope, receive, send)
