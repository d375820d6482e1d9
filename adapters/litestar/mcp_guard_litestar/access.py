"""The caller's principal for handlers (dependency injection) and the guard that opts a route in."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from mcp_guard import Gateway
from mcp_guard.auth.principal import Principal
from mcp_guard.routes import RouteRule, principal_of

APP_STATE_KEY = "mcp_guard_gateway"  # where the plugin leaves the gateway on `app.state`

Connection = ASGIConnection[Any, Any, Any, Any]


def gateway_of(connection: Connection) -> Gateway:
    found: Gateway | None = connection.app.state.get(APP_STATE_KEY)
    if found is None:
        raise RuntimeError("no mcp-guard gateway for this app: add MCPGuardPlugin(gateway) to its plugins")
    return found


async def provide_principal(request: Connection) -> Principal:
    """The caller's principal from its virtual key (checked now if no middleware did); 401 problem+json
    without a valid one. The plugin registers it as the `principal` dependency:
    `principal: NamedDependency[Principal]`."""
    return await principal_of(gateway_of(request), request.scope)  # type: ignore[arg-type]


def governed_route(
    *, tool: str | None = None, rate: str | None = None, cost: float = 0.0, name: str | None = None
) -> Guard:
    """A route guard that admits the request only with a valid key and, optionally, the right to use
    `tool` (`server/tool`, by a tool call's rules), within a per-key `rate` on this route (`10/minute`),
    after charging `cost` to the caller's budgets. Refusals are 401/403/429/402 problem+json; admissions
    and refusals are audited as `app/<METHOD path>` (or `name`).

        @post("/reports", guards=[governed_route(tool="billing/invoice_total", cost=0.05)])
    """
    rule = RouteRule.of(tool=tool, rate=rate, cost=cost, name=name)

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        route = f"{connection.scope.get('method', 'GET')} {connection.scope.get('path_template', '')}"
        await rule.admit(gateway_of(connection), connection.scope, route)  # type: ignore[arg-type]

    return guard


def requires_tool_access(tool: str) -> Guard:
    """`governed_route(tool=tool)`: the route follows the access rule of the MCP tool that does the same."""
    return governed_route(tool=tool)
