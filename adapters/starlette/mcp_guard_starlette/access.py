"""The caller's principal for the host app's endpoints, and the decorator that opts an endpoint in.

The gateway governs only its own mount unless told otherwise, so an app endpoint that needs a key says so:

    @governed_route(tool="billing/invoice_total", rate="10/minute", cost=0.01)
    async def invoices(request: Request) -> JSONResponse: ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from mcp_guard import Gateway, GatewayError, Principal, RequestState, ToolRef
from mcp_guard.asgi import close_reason
from mcp_guard.routes import RouteRule, principal_of

from .problems import ProblemResponse

APP_STATE_KEY = "mcp_guard_gateway"  # where `install` / `add_governance` leave the gateway on `app.state`

Endpoint = Callable[[Any], Any]


def gateway_of(connection: HTTPConnection, gateway: Gateway | None = None) -> Gateway:
    """`gateway`, or the one `install` put on the app's state."""
    found = gateway or getattr(connection.app.state, APP_STATE_KEY, None)
    if found is None:
        raise RuntimeError(
            "no mcp-guard gateway for this app: call install(app, gateway) (or pass gateway= to the decorator)"
        )
    return found


async def current_principal(request: HTTPConnection, gateway: Gateway | None = None) -> Principal:
    """The caller's principal from its key (checked now if no middleware did): 401 without a valid key."""
    return await principal_of(gateway_of(request, gateway), request.scope)


def require_principal(request: HTTPConnection) -> Principal:
    """The principal already established for this request (a governed path, or inside a `governed_route`
    endpoint); `Unauthenticated` (401) when there is none."""
    return RequestState.from_scope(request.scope).require_principal()


def require_tool_access(request: HTTPConnection, tool: ToolRef | str) -> Principal:
    """The established principal if this request may use `tool` (`server/tool`) by the rules of a tool call:
    the key's roles and allowlists and the request's filter headers; `NotAllowed` (403) otherwise."""
    return RequestState.from_scope(request.scope).require_tool(tool)


def governed_route(
    *,
    tool: str | None = None,
    rate: str | None = None,
    cost: float = 0.0,
    name: str | None = None,
    gateway: Gateway | None = None,
) -> Callable[[Endpoint], Callable[[Any], Awaitable[Any]]]:
    """Opt an endpoint in (see `mcp_guard.routes`): a key is required, and optionally the right to use
    `tool`, a per-key `rate` on this endpoint, a `cost` charged to the caller's budgets. Refusals are
    problem+json, rendered by the decorator itself (a websocket is closed with 1008); every admission and
    refusal is audited as `app/<name>` (default: the endpoint's name)."""
    rule = RouteRule.of(tool=tool, rate=rate, cost=cost, name=name)

    def decorate(endpoint: Endpoint) -> Callable[[Any], Awaitable[Any]]:
        route = name or endpoint.__name__
        is_async = inspect.iscoroutinefunction(endpoint)

        @functools.wraps(endpoint)
        async def governed(connection: Any) -> Any:
            try:
                await rule.admit(gateway_of(connection, gateway), connection.scope, route)
            except GatewayError as exc:  # rendered here: the app need not register a handler for it
                if isinstance(connection, WebSocket):
                    await connection.close(code=1008, reason=close_reason(exc))
                    return None
                return ProblemResponse(exc, connection.url.path)
            return await endpoint(connection) if is_async else await run_in_threadpool(endpoint, connection)

        return governed

    return decorate
