"""The ASGI app mounted under `/mcp`: the MCP endpoint at its root and the REST endpoints beside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, route_path, send_problem
from ..errors import GatewayError, MethodNotAllowed, NotFound
from . import rest

if TYPE_CHECKING:
    from ..gateway import Gateway

Handler = Callable[["Gateway", Scope, Any, Any], Awaitable[None]]

ROUTES: dict[str, dict[str, Handler]] = {
    "/tools": {"GET": rest.list_tools},
    "/tool/execute": {"POST": rest.execute_tool},
    "/servers": {"GET": rest.list_servers},
}


class GatewayRouter:
    """Mount it anywhere (`/mcp` by convention). The MCP endpoint answers at the mount point itself."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.gateway.serve_lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are not part of MCP: closing without accepting refuses them
        path = route_path(scope)
        if path == "/":
            await self.gateway.mcp_app(scope, receive, send)
            return
        try:
            await self._rest(path, scope, receive, send)
        except GatewayError as exc:
            await send_problem(send, exc, scope)

    async def _rest(self, path: str, scope: Scope, receive: Any, send: Any) -> None:
        method = scope["method"]
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "servers" and parts[2] == "reconnect":
            if method != "POST":
                raise MethodNotAllowed(f"{method} is not allowed on {path}; use POST")
            await rest.reconnect_server(self.gateway, scope, receive, send, parts[1])
            return
        handlers = ROUTES.get(path)
        if handlers is None:
            raise NotFound(f"No route {path!r} under the gateway mount point")
        handler = handlers.get(method)
        if handler is None:
            raise MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(handlers)}")
        await handler(self.gateway, scope, receive, send)
