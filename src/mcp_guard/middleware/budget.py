"""BudgetMiddleware: attaches the budget guard; the pipeline reserves and settles every call through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..state import CallGuard, RequestState

if TYPE_CHECKING:
    from ..gateway import Gateway


class BudgetMiddleware:
    def __init__(self, app: Any, *, gateway: Gateway | None = None, guard: CallGuard | None = None) -> None:
        if guard is None and gateway is None:
            raise TypeError("BudgetMiddleware needs gateway= or guard=")
        self.app = app
        self.guard = guard or gateway.governance.budget  # type: ignore[union-attr]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            RequestState.from_scope(scope).budget = self.guard
        await self.app(scope, receive, send)
