"""RateLimitMiddleware: attaches the rate limiter for tool calls and applies the per-key request limit to
every request it governs (the gateway's mount, and the app routes the app opted in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..ratelimit import RateLimiter
from ..state import RequestState
from .base import GoverningMiddleware, Paths
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..audit.refusals import RefusalLog
    from ..core import GatewayCore


class RateLimitMiddleware(GoverningMiddleware):
    def __init__(
        self,
        app: Any,
        *,
        gateway: GatewayCore | None = None,
        limiter: RateLimiter | None = None,
        paths: Paths = DEFAULT_PATHS,
        refusals: RefusalLog | None = None,
    ) -> None:
        super().__init__(app, paths, gateway=gateway, refusals=refusals)
        if limiter is None and gateway is None:
            raise TypeError("RateLimitMiddleware needs gateway= or limiter=")
        self.limiter = limiter or gateway.governance.rate_limiter  # type: ignore[union-attr]

    async def apply(self, scope: Scope) -> None:
        state = RequestState.from_scope(scope)
        state.rate_limiter = self.limiter
        await self.limiter.hit_request(state.principal)
