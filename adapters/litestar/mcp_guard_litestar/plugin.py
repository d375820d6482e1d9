"""`MCPGuardPlugin`: a Litestar app governed by an mcp-guard gateway, in one line."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from litestar import Litestar, asgi
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.handlers import ASGIRouteHandler
from litestar.plugins import InitPlugin
from litestar.types import Receive, Scope, Send

from mcp_guard import Gateway, GatewayError
from mcp_guard.auth.principal import Principal

from .access import provide_principal
from .problems import problem_response
from .wrapping import RequireGoverned, wrap_whole_app

MOUNT = "/mcp"


class MCPGuardPlugin(InitPlugin):
    """Governs a Litestar app with `gateway`:

    - the five middlewares (KeyAuth → HeaderFilter → RateLimit → Budget → Audit) around the whole
      application, so every request, matched or not, needs a key (except `exempt_paths`);
    - `gateway.router` mounted at `mount` (both `/mcp` and `/mcp/...`, no redirect);
    - `gateway.lifespan()` joined to the app's lifespan;
    - the caller's `Principal` injected into handlers that ask for `principal: NamedDependency[Principal]`;
    - `GatewayError` raised in handlers or guards rendered as RFC 9457 problem+json.

        app = Litestar(route_handlers=[...], plugins=[MCPGuardPlugin(gateway, exempt_paths=["/health"])])
    """

    __slots__ = ("dependency", "exempt_paths", "gateway", "mount")

    def __init__(
        self,
        gateway: Gateway,
        *,
        mount: str = MOUNT,
        exempt_paths: Iterable[str] = (),
        dependency: str = "principal",
    ) -> None:
        self.gateway = gateway
        self.mount = mount
        self.exempt_paths = tuple(exempt_paths)
        self.dependency = dependency

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(self._mount_handler())
        app_config.lifespan.append(self._lifespan)
        app_config.middleware.insert(0, RequireGoverned)  # type: ignore[arg-type]  # raw ASGI, typed loosely
        app_config.dependencies[self.dependency] = Provide(provide_principal, sync_to_thread=False)
        app_config.exception_handlers[GatewayError] = problem_response
        # handlers written with `from __future__ import annotations` name the type as a string
        app_config.signature_namespace["Principal"] = Principal
        return app_config

    def _mount_handler(self) -> ASGIRouteHandler:
        router = self.gateway.router

        async def mcp_guard_gateway(scope: Scope, receive: Receive, send: Send) -> None:
            await router(scope, receive, send)  # type: ignore[arg-type]

        # copy_scope=False: the router only reads the scope; a copy per request would buy nothing
        return asgi(self.mount, is_mount=True, copy_scope=False)(mcp_guard_gateway)

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        # Wrap first: building the middlewares opens the governance components that the gateway's
        # lifespan then runs (the audit writer) and closes.
        wrap_whole_app(app, self.gateway, self.exempt_paths)
        async with self.gateway.lifespan():
            yield
