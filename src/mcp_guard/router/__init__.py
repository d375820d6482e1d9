"""The ASGI app mounted under `/mcp`: the MCP endpoint at its root and the REST endpoints beside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, header, route_path, send_problem
from ..chat.endpoint import chat_completions
from ..errors import GatewayError, MethodNotAllowed, NotFound
from ..state import RequestState
from . import admin, rest

if TYPE_CHECKING:
    from ..gateway import Gateway

Handler = Callable[..., Awaitable[None]]

CODE_MODE_HEADER = b"x-mcp-code-mode"  # `true`: every visible tool is shown through Code Mode's meta-tools
TOOL_SEARCH_HEADER = b"x-mcp-tool-search"  # `true`: `search_tools` is listed instead of the tools
_TRUE = {"1", "true", "yes", "on"}

# (method, path template, handler, access): "any" = whoever passed the middlewares; "operator" = an admin
# key, or anyone when no KeyAuthMiddleware is installed (the gateway is then open anyway); "admin" = an
# admin key, always.
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/tools", rest.list_tools, "any"),
    ("POST", "/tool/execute", rest.execute_tool, "any"),
    ("GET", "/servers", rest.list_servers, "any"),
    ("POST", "/servers/{name}/reconnect", rest.reconnect_server, "operator"),
    ("GET", "/keys", admin.list_keys, "admin"),
    ("POST", "/keys", admin.create_key, "admin"),
    ("POST", "/keys/{key_id}/deactivate", admin.deactivate_key, "admin"),
    ("PUT", "/keys/{key_id}/budget", admin.set_key_budget, "admin"),
    ("GET", "/audit", admin.audit_records, "admin"),
    ("GET", "/analytics/costs", admin.cost_analytics, "admin"),
    ("POST", "/v1/chat/completions", chat_completions, "any"),
]


class GatewayRouter:
    """Mount it anywhere (`/mcp` by convention). The MCP endpoint answers at the mount point itself."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._routes = [(m, tuple(t.strip("/").split("/")), h, a) for m, t, h, a in ROUTES]

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
        if path == "/":
            await self.gateway.mcp_app(scope, receive, send)
            return
        try:
            handler, params, access = self._match(scope["method"], path)
            _check_access(scope, access)
            await handler(self.gateway, scope, receive, send, **params)
        except GatewayError as exc:
            await send_problem(send, exc, scope)

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str]:
        parts = path.strip("/").split("/")
        allowed: list[str] = []
        for route_method, template, handler, access in self._routes:
            params = _bind(template, parts)
            if params is None:
                continue
            if route_method == method:
                return handler, params, access
            allowed.append(route_method)
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(allowed)}")
        raise NotFound(f"No route {path!r} under the gateway mount point")


def _bind(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    if len(template) != len(parts):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(template, parts, strict=True):
        if expected.startswith("{"):
            params[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return params


def _check_access(scope: Scope, access: str) -> None:
    if access == "admin" or (access == "operator" and RequestState.from_scope(scope).principal is not None):
        admin.require_admin(scope)
