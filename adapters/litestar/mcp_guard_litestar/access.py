"""The caller's principal for handlers (dependency injection) and a tool access guard for routes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from mcp_guard import RequestState, ToolRef
from mcp_guard.auth.principal import Principal


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    return RequestState.from_scope(connection.scope).require_principal()  # type: ignore[arg-type]


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller's principal (from its virtual key); 401 problem+json when the request has none.
    The plugin registers it as the `principal` dependency: `principal: NamedDependency[Principal]`."""
    return _principal(request)


def requires_tool_access(tool: str) -> Guard:
    """A route guard that admits the request only if its key and filter headers allow `tool`
    (`server/tool`, checked by the gateway's own rules); 401 or 403 problem+json otherwise.

        @post("/invoices", guards=[requires_tool_access("billing/create_invoice")])
    """
    ref = ToolRef.parse(tool)  # a malformed reference fails at import time, not per request

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        RequestState.from_scope(connection.scope).require_tool(ref)  # type: ignore[arg-type]

    return guard
