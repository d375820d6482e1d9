"""What the gateway's middlewares decided about a request, for the host app's own endpoints."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from mcp_guard import Principal, RequestState, ToolRef


def require_principal(request: HTTPConnection) -> Principal:
    """The caller's principal; `Unauthenticated` (401) when the request carries none (no key, an exempt
    path, or no KeyAuthMiddleware in front)."""
    return RequestState.from_scope(request.scope).require_principal()


def require_tool_access(request: HTTPConnection, tool: ToolRef | str) -> Principal:
    """The caller's principal if this request may use `tool` (`server/tool`) by the rules of a tool call:
    the key's roles and allowlists and the request's filter headers; `NotAllowed` (403) otherwise."""
    return RequestState.from_scope(request.scope).require_tool(tool)
