"""RateLimitMiddleware: attaches the rate limiter for tool calls and applies the per-key request limit to
every HTTP request, so the host app's own routes are protected too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_problem
from ..errors import GatewayError
from ..ratelimit import RateLimiter
from ..state import RequestState

if TYPE_CHECKING:
    from ..gateway import Gateway


class RateLimitMiddleware:
    def __init__(self, app: Any, *, gateway: Gateway | None = None, limiter: RateLimiter | None = None) -> None:
        if limiter is None and gateway is None:
            raise TypeError("RateLimitMiddleware needs gateway= or limiter=")
        self.app = app
        self.limiter = limiter or gateway.governance.rate_limiter  # type: ignore[union-attr]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = RequestState.from_scope(scope)
        state.rate_limiter = self.limiter
        try:
            await self.limiter.hit_request(state.principal)
        except GatewayError as exc:
            await send_problem(send, exc, scope)
            return
        await self.app(scope, receive, send)
