"""All five middlewares around an app, in the order the design fixes (outermost first), for the paths the
gateway governs; and the same five stages applied to one request inline, for an app route that opts in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, app_path
from ..errors import GatewayError
from ..observability.asgi import ObservedApp
from .audit import AuditMiddleware
from .base import GoverningMiddleware, Paths, path_scope
from .budget import BudgetMiddleware
from .cors import MountCORSMiddleware
from .header_filter import HeaderFilterMiddleware
from .key_auth import KeyAuthMiddleware
from .paths import DEFAULT_PATHS, EVERY_PATH, PathScope, is_preflight
from .rate_limit import RateLimitMiddleware

if TYPE_CHECKING:
    from ..host import GatewayHost

_SCOPE_TYPES = frozenset(("http", "websocket"))


class GovernanceStack:
    """KeyAuth → HeaderFilter → RateLimit → Budget → Audit → `app` for the requests `paths` cover (the
    gateway's mount by default) except `exempt_paths`, with the mount's CORS in front when `cors:` is
    configured and `ObservedApp` (spans, log lines) outermost; the operations endpoints are answered without
    a key; every other request (and the lifespan) goes straight to `app`, untouched. The path is checked
    once here, not by each stage."""

    def __init__(
        self, app: Any, gateway: GatewayHost, *, paths: Paths = DEFAULT_PATHS, exempt_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.paths = path_scope(paths, exempt_paths)
        self.refusals = gateway.governance.refusals
        every = PathScope(EVERY_PATH)
        audit = AuditMiddleware(app, gateway=gateway, paths=every)
        budget = BudgetMiddleware(audit, gateway=gateway, paths=every)
        rate_limit = RateLimitMiddleware(budget, gateway=gateway, paths=every)
        header_filter = HeaderFilterMiddleware(rate_limit, gateway=gateway, paths=every)
        key_auth = KeyAuthMiddleware(header_filter, gateway=gateway, paths=every)
        self.stages: tuple[GoverningMiddleware, ...] = (key_auth, header_filter, rate_limit, budget, audit)
        for stage in self.stages:
            stage.gated = False  # the path is checked here, once
        cors = gateway.config.cors
        self.cors = MountCORSMiddleware(key_auth, settings=cors, paths=every) if cors else None
        self.governed: Any = self.cors or key_auth
        self.preflights: Any = self.cors or app  # the mount's CORS answers them, or the app's does
        # Outermost on governed requests: their span and log line; it also answers the operations endpoints
        # (`/healthz`, `/readyz`, `/metrics`), which need no key and are served wherever the stack is.
        self.observed = ObservedApp(self.governed, gateway=gateway)
        self.operations = frozenset(self.observed.operations)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in _SCOPE_TYPES:
            await self.app(scope, receive, send)
        elif scope.get("path") in self.operations:
            await self.observed(scope, receive, send)
        elif not self.paths.covers(app_path(scope)):
            await self.app(scope, receive, send)
        elif is_preflight(scope):
            await self.preflights(scope, receive, send)
        else:
            await self.observed(scope, receive, send)

    async def apply(self, scope: Scope) -> None:
        """The five stages on one request, in order, without passing it on: a `GatewayError` refuses it (and
        is recorded as the middlewares record it; the caller answers it)."""
        try:
            for stage in self.stages:
                await stage.apply(scope)
        except GatewayError as exc:
            await self.refusals.refused(scope, exc)
            raise


def governed(
    app: Any, gateway: GatewayHost, *, paths: Paths = DEFAULT_PATHS, exempt_paths: Iterable[str] = ()
) -> GovernanceStack:
    """`app` behind the five middlewares for the paths `paths` cover (the gateway's mount `/mcp` by default;
    `["*"]` for every path)."""
    return GovernanceStack(app, gateway, paths=paths, exempt_paths=exempt_paths)
