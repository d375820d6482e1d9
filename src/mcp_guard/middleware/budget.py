"""BudgetMiddleware: attaches the budget guard; the pipeline reserves and settles every call through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..state import CallGuard, RequestState
from .base import GoverningMiddleware, Paths
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..core import GatewayCore


class BudgetMiddleware(GoverningMiddleware):
    def __init__(
        self,
        app: Any,
        *,
        gateway: GatewayCore | None = None,
        guard: CallGuard | None = None,
        paths: Paths = DEFAULT_PATHS,
    ) -> None:
        super().__init__(app, paths)
        if guard is None and gateway is None:
            raise TypeError("BudgetMiddleware needs gateway= or guard=")
        self.guard = guard or gateway.governance.budget  # type: ignore[union-attr]

    async def apply(self, scope: Scope) -> None:
        RequestState.from_scope(scope).budget = self.guard
