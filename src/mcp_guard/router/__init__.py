"""The ASGI app mounted under `/mcp`: the MCP endpoint at its root and the REST endpoints beside it.

The REST routes are one table of `Endpoint`s (`routes.py`, with the OpenAPI document's own route added by
`openapi.py`: `ROUTES`); each is matched by a Starlette `Route`, in table order as Starlette's `Router` does,
and the same table is what `openapi.py` documents, so the OpenAPI document cannot list a route that does
not exist.

Matched by Starlette, not by hand (issue 23, item 5; `bench/handwritten.py`, one run): the earlier
hand-written loop over compiled regexes took 0.20× the CPU of Starlette's `Route.matches` per match (2.0
against 10.1 µs; this router's `_match` 10.8 µs), but those 8 µs are under 1 % of a REST call's gateway CPU
(≥ 1 ms in the same run), short of the 10 % a hand-written piece must save to stay. The MCP endpoint at the
mount's root never reaches the matcher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from starlette.routing import Match

from ..asgi import Scope, header, route_path, send_problem
from ..errors import GatewayError, MethodNotAllowed, NotFound
from ..state import RequestState
from . import admin
from .mcp_endpoint import McpEndpoint
from .openapi import ROUTES
from .rest_routes import OPENAPI_PATH, Endpoint, Handler
from .virtual import VirtualServers, virtual_name

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..servers.manager import UpstreamNews

CODE_MODE_HEADER = b"x-mcp-code-mode"  # `true`: every visible tool is shown through Code Mode's meta-tools
TOOL_SEARCH_HEADER = b"x-mcp-tool-search"  # `true`: `search_tools` is listed instead of the tools
_TRUE = {"1", "true", "yes", "on"}
_NO_USER = object()
UI_PATH = "/ui"  # the admin dashboard (`mcp_guard.ui`): its own login, so the key middlewares leave it alone


def public_paths(mount: str) -> tuple[str, ...]:
    """The paths under `mount` that the governance middlewares must exempt: the OpenAPI document (public)
    and the dashboard, which authenticates its own requests (a session cookie from an admin key's login)."""
    mount = mount.rstrip("/")
    return (mount + OPENAPI_PATH, mount + UI_PATH, f"{mount}{UI_PATH}/*")


def resource_metadata_path(mount: str) -> str:
    """Where a host app serves the mount's RFC 9728 metadata (`ResourceMetadata`): outside the mount, at
    the origin's well-known path followed by the mount (`/.well-known/oauth-protected-resource/mcp`)."""
    from .well_known import WELL_KNOWN

    return WELL_KNOWN + "/" + mount.strip("/")


class GatewayRouter:
    """Mount it anywhere (`/mcp` by convention). The MCP endpoint answers at the mount point itself; a router
    built with `mcp_at_root=False` (Bifrost's paths) serves its REST routes only and has no MCP endpoint."""

    def __init__(self, gateway: GatewayHost, routes: Sequence[Endpoint] = ROUTES, *, mcp_at_root: bool = True) -> None:
        self.gateway = gateway
        self.routes = tuple(routes)
        self.mcp_at_root = mcp_at_root
        self.mcp = McpEndpoint(gateway) if mcp_at_root else None
        self.virtual = VirtualServers(gateway)

    @property
    def news(self) -> UpstreamNews:
        """Where the upstream manager sends what upstreams announce: the MCP endpoint's back-channels."""
        if self.mcp is None:
            raise RuntimeError("a router without an MCP endpoint has no clients to tell")
        return self.mcp.channels

    @property
    def serving(self) -> bool:
        """Whether the MCP endpoint answers (between entering and leaving `running()`)."""
        return self.mcp is not None and self.mcp.serving

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve the MCP endpoint while inside (the gateway's lifespan enters it)."""
        async with self.mcp.running() if self.mcp is not None else nullcontext():
            yield

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.gateway.serve_lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are not part of MCP: closing without accepting refuses them
        path = route_path(scope)
        if (header(scope, CODE_MODE_HEADER) or "").strip().lower() in _TRUE:
            RequestState.from_scope(scope).code_mode = True  # presentation only: permissions are unchanged
        if (header(scope, TOOL_SEARCH_HEADER) or "").strip().lower() in _TRUE:
            RequestState.from_scope(scope).tool_search = True  # presentation only, too
        if path == "/" and self.mcp_at_root:
            await self._mcp(scope, receive, send)
            return
        name = virtual_name(path, self.gateway.config.virtual_servers) if self.mcp_at_root else None
        if name is not None:
            await self._virtual(scope, receive, send, name)
            return
        if self.mcp_at_root and (path == UI_PATH or path.startswith(UI_PATH + "/")):
            await self.gateway.dashboard(scope, receive, send)
            return
        try:
            endpoint, params = self._match(scope["method"], path)
            await self._check_access(scope, endpoint.access)
            await endpoint.handler(self.gateway, scope, receive, send, **params)
        except GatewayError as exc:
            await send_problem(send, exc, scope)

    async def _check_access(self, scope: Scope, access: str) -> None:
        """A key that may not use the route is refused, and the refusal recorded as the middlewares'."""
        try:
            _check_access(scope, access)
        except GatewayError as exc:
            await self.gateway.governance.refusals.refused(scope, exc)
            raise

    async def _virtual(self, scope: Scope, receive: Any, send: Any, name: str) -> None:
        """A virtual server's MCP endpoint (`virtual.py`); an unknown one is a 404 naming the configured ones."""
        try:
            user = self.virtual.enter(scope, name)
        except GatewayError as exc:
            await send_problem(send, exc, scope)
            return
        await self._mcp(scope, receive, send, user)

    async def _mcp(self, scope: Scope, receive: Any, send: Any, user: Any = _NO_USER) -> None:
        """The MCP endpoint, with `scope["user"]` set to the gateway's user for the caller's key right before
        the SDK reads it (it binds sessions by it), whatever the host app put there; restored afterwards."""
        app_user = scope.get("user", _NO_USER)
        scope["user"] = RequestState.from_scope(scope).mcp_user if user is _NO_USER else user
        try:
            assert self.mcp is not None  # only a router with `mcp_at_root` routes here
            await self.mcp(scope, receive, send)
        finally:
            if app_user is _NO_USER:
                scope.pop("user", None)
            else:
                scope["user"] = app_user

    def matches(self, path: str) -> bool:
        """Whether any route has this path (whatever its method)."""
        scope = _match_scope("GET", path)
        return any(endpoint.route.matches(scope)[0] is not Match.NONE for endpoint in self.routes)

    def _match(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        """Starlette `Router`'s rule: the first full match wins; a path matched only with another method is a 405."""
        scope = _match_scope(method, path)
        allowed: list[str] = []
        for endpoint in self.routes:
            match, child = endpoint.route.matches(scope)
            if match is Match.FULL:
                return endpoint, child["path_params"]
            if match is Match.PARTIAL:
                allowed.append(endpoint.method)
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(allowed)}")
        raise NotFound(f"No route {path!r} under the gateway mount point")


def _match_scope(method: str, path: str) -> dict[str, Any]:
    """What `Route.matches` reads: the path relative to the mount (`route_path`) and the method."""
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def _check_access(scope: Scope, access: str) -> None:
    if access == "admin" or (access == "operator" and RequestState.from_scope(scope).principal is not None):
        admin.require_admin(scope)


__all__ = [
    "CODE_MODE_HEADER",
    "OPENAPI_PATH",
    "ROUTES",
    "TOOL_SEARCH_HEADER",
    "UI_PATH",
    "Endpoint",
    "GatewayRouter",
    "Handler",
    "public_paths",
    "resource_metadata_path",
]
