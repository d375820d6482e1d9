"""`MCPGuardPlugin`: an mcp-guard gateway in a Litestar app, in one line."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from litestar import Litestar, asgi
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.handlers import ASGIRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPlugin
from litestar.types import Receive, Scope, Send

from mcp_guard import Gateway, GatewayError
from mcp_guard.asgi import send_problem
from mcp_guard.auth.principal import Principal
from mcp_guard.errors import ServiceUnavailable
from mcp_guard.middleware import PathScope, mount_paths
from mcp_guard.middleware.paths import MOUNT as MOUNT  # re-exported: the default mount point
from mcp_guard.router import public_paths, resource_metadata_path
from mcp_guard.router.openapi import openapi_document
from mcp_guard.router.well_known import ResourceMetadata

from .access import APP_STATE_KEY, provide_principal
from .openapi import merge_openapi
from .problems import problem_response
from .wrapping import PASSED, RequireGoverned, wrap_whole_app


class MCPGuardPlugin(InitPlugin):
    """Puts `gateway` into a Litestar app:

    - `gateway.router` mounted at `mount` (both `/mcp` and `/mcp/...`, no redirect), governed by the five
      middlewares (KeyAuth → HeaderFilter → RateLimit → Budget → Audit, and the mount's CORS when `cors:`
      is configured), which also govern the app paths `govern` names (globs such as `/api/*`);
      every other request of the app passes through untouched;
    - `gateway.lifespan()` joined to the app's lifespan;
    - the caller's `Principal` injected into handlers that ask for `principal: NamedDependency[Principal]`
      (checked then, for a route no middleware governs), and the guard `governed_route(...)` for routes
      that opt in;
    - `GatewayError` raised in handlers or guards rendered as RFC 9457 problem+json;
    - the gateway's REST routes in the app's OpenAPI document.

        app = Litestar(route_handlers=[...], plugins=[MCPGuardPlugin(gateway)])
    """

    __slots__ = ("dependency", "gateway", "mount", "paths")

    def __init__(
        self,
        gateway: Gateway,
        *,
        mount: str = MOUNT,
        govern: Iterable[str] = (),
        exempt_paths: Iterable[str] = (),
        dependency: str = "principal",
    ) -> None:
        self.gateway = gateway
        self.mount = "/" + mount.strip("/")
        exempt = (*public_paths(self.mount), *exempt_paths)
        self.paths = PathScope((*mount_paths(self.mount), *govern), exempt)
        self.dependency = dependency

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(self._mount_handler())
        app_config.route_handlers.append(self._metadata_handler())
        app_config.lifespan.append(self._lifespan)
        app_config.middleware.insert(0, DefineMiddleware(RequireGoverned, paths=self.paths))  # type: ignore[arg-type]
        app_config.dependencies[self.dependency] = Provide(provide_principal)
        app_config.exception_handlers[GatewayError] = problem_response
        app_config.state[APP_STATE_KEY] = self.gateway
        # handlers written with `from __future__ import annotations` name the type as a string
        app_config.signature_namespace["Principal"] = Principal
        return app_config

    def _mount_handler(self) -> ASGIRouteHandler:
        router = self.gateway.router

        async def mcp_guard_gateway(scope: Scope, receive: Receive, send: Send) -> None:
            if not scope.get(PASSED):  # the lifespan never ran: fail closed, never serve ungoverned
                error = ServiceUnavailable("mcp-guard is not running: the application's lifespan was not started")
                await send_problem(send, error, scope)  # type: ignore[arg-type]
                return
            await router(scope, receive, send)  # type: ignore[arg-type]

        # copy_scope=False: the router only reads the scope; a copy per request would buy nothing
        return asgi(self.mount, is_mount=True, copy_scope=False)(mcp_guard_gateway)

    def _metadata_handler(self) -> ASGIRouteHandler:
        """The mount's RFC 9728 metadata, outside the mount (public: no middleware of the plugin governs it)."""
        metadata = ResourceMetadata(self.gateway)

        async def mcp_guard_resource_metadata(scope: Scope, receive: Receive, send: Send) -> None:
            await metadata(scope, receive, send)  # type: ignore[arg-type]

        return asgi(resource_metadata_path(self.mount), copy_scope=False)(mcp_guard_resource_metadata)

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        # Wrap first: building the middlewares opens the governance components that the gateway's
        # lifespan then runs (the audit writer) and closes.
        wrap_whole_app(app, self.gateway, self.paths)
        if app.openapi_config is not None:
            merge_openapi(app, openapi_document(self.mount))
        async with self.gateway.lifespan():
            yield
