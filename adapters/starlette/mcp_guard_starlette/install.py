"""Put the gateway into a Starlette (or FastAPI) app: its middlewares, the `/mcp` routes, the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

from mcp_guard import Gateway, GatewayError
from mcp_guard.middleware import GovernanceStack, mount_paths
from mcp_guard.middleware.paths import MOUNT as MOUNT  # re-exported: the default mount point
from mcp_guard.router import public_paths, resource_metadata_path
from mcp_guard.router.well_known import ResourceMetadata

from .access import APP_STATE_KEY
from .problems import gateway_error_handler


class _MountPoint:
    """The gateway at the mount point itself (`/mcp`, no slash), where a `Mount` would redirect (307).

    It is a class, not a function, so that `Route` treats it as an ASGI app; it gives the router the
    `root_path` a `Mount` would, so the router sees its own root."""

    def __init__(self, app: ASGIApp, mount: str) -> None:
        self.app = app
        self.mount = mount

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["root_path"] = scope.get("root_path", "") + self.mount
        await self.app(scope, receive, send)


def gateway_routes(gateway: Gateway, mount: str = MOUNT) -> list[BaseRoute]:
    """`gateway.router` at `mount` and everything below it, without redirects; the mount's RFC 9728 metadata."""
    return [
        Route(resource_metadata_path(mount), endpoint=ResourceMetadata(gateway), name="mcp-guard-metadata"),
        Route(mount, endpoint=_MountPoint(gateway.router, mount), name="mcp-guard"),
        Mount(mount, app=gateway.router, name="mcp-guard-api"),
    ]


def gateway_lifespan(gateway: Gateway, lifespan: Lifespan[Any] | None = None) -> Lifespan[Any]:
    """A lifespan that runs `gateway.lifespan()` around the app's own `lifespan` (whose state it keeps)."""

    @asynccontextmanager
    async def composed(app: Any) -> AsyncIterator[Any]:
        async with gateway.lifespan():
            if lifespan is None:
                yield None
                return
            async with lifespan(app) as state:
                yield state

    composed.mcp_guard_gateway = gateway  # type: ignore[attr-defined]  # lets `install` see it is there
    return composed


def _runs_gateway(lifespan: Any, gateway: Gateway) -> bool:
    return getattr(lifespan, "mcp_guard_gateway", None) is gateway


def add_governance(
    app: Starlette,
    gateway: Gateway,
    *,
    mount: str = MOUNT,
    govern: Iterable[str] = (),
    exempt_paths: Iterable[str] = (),
) -> None:
    """The five middlewares (KeyAuth → HeaderFilter → RateLimit → Budget → Audit, and the mount's CORS when
    `cors:` is configured) for the gateway's mount and the app paths `govern` names (globs such as
    `/api/*`), except `exempt_paths`. Every other request passes through untouched. Also leaves the gateway on
    `app.state` for the app's opted-in routes (`governed_route`, `current_principal`)."""
    paths = (*mount_paths(mount), *govern)
    exempt = (*public_paths(mount), *exempt_paths)
    app.add_middleware(GovernanceStack, gateway=gateway, paths=paths, exempt_paths=exempt)
    setattr(app.state, APP_STATE_KEY, gateway)


def install(
    app: Starlette,
    gateway: Gateway,
    *,
    mount: str = MOUNT,
    govern: Iterable[str] = (),
    exempt_paths: Iterable[str] = (),
) -> None:
    """Govern the gateway's mount in `app`: the middlewares for `mount` (and `govern`), `gateway.router` at
    `mount`, `gateway.lifespan()` joined to the app's lifespan, and `GatewayError` rendered as problem+json.
    The app's own routes stay as they are unless `govern` names them or they opt in (`governed_route`).

    Call it once, before the app serves (middlewares cannot be added later). Works for FastAPI too."""
    add_governance(app, gateway, mount=mount, govern=govern, exempt_paths=exempt_paths)
    # First, so that a catch-all route of the app (a `Mount("/")`) cannot shadow the gateway.
    app.router.routes[0:0] = gateway_routes(gateway, mount)
    if not _runs_gateway(app.router.lifespan_context, gateway):  # the app may have composed it already
        app.router.lifespan_context = gateway_lifespan(gateway, app.router.lifespan_context)
    app.add_exception_handler(GatewayError, gateway_error_handler)
