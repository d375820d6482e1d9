"""FastAPI dependencies that opt a route in: the caller's principal, and a governed route (a key, and
optionally a tool's access rule, a per-key rate, a budget charge), shown in the OpenAPI document with the
gateway's key as the security scheme."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from mcp_guard_starlette import gateway_of

from mcp_guard.auth.principal import Principal
from mcp_guard.routes import RouteRule, principal_of

# Declared so the route's OpenAPI entry names the gateway's key schemes (the names of `SECURITY_SCHEMES`);
# the key itself is read by the gateway.
_KEY = APIKeyHeader(name="x-api-key", scheme_name="mcpGuardKey", auto_error=False)
_BIFROST_KEY = APIKeyHeader(name="x-bf-vk", scheme_name="bifrostVirtualKey", auto_error=False)
_BEARER = HTTPBearer(scheme_name="mcpGuardBearer", auto_error=False)

_Key = Annotated[Any, Depends(_KEY)]
_BifrostKey = Annotated[Any, Depends(_BIFROST_KEY)]
_Bearer = Annotated[Any, Depends(_BEARER)]


async def current_principal(request: Request, _key: _Key, _bf: _BifrostKey, _bearer: _Bearer) -> Principal:
    """The caller's principal from its virtual key; 401 problem+json without a valid one."""
    return await principal_of(gateway_of(request), request.scope)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""`principal: CurrentPrincipal` in a route's signature."""


def governed_route(
    *, tool: str | None = None, rate: str | None = None, cost: float = 0.0, name: str | None = None
) -> Any:
    """A dependency that admits the request only with a valid key and, optionally, the right to use `tool`
    (`server/tool`, by a tool call's rules), within a per-key `rate` on this route (`10/minute`), after
    charging `cost` to the caller's budgets; it yields the principal. Refusals are 401/403/429/402
    problem+json; admissions and refusals are audited as `app/<METHOD path>` (or `name`).

        @app.post("/reports", dependencies=[governed_route(tool="billing/invoice_total", cost=0.05)])
    """
    rule = RouteRule.of(tool=tool, rate=rate, cost=cost, name=name)

    async def governed(request: Request, _key: _Key, _bf: _BifrostKey, _bearer: _Bearer) -> Principal:
        return await rule.admit(gateway_of(request), request.scope, _route_name(request))

    return Depends(governed)


def requires_tool_access(tool: str) -> Any:
    """`governed_route(tool=tool)`: the route follows the access rule of the MCP tool that does the same."""
    return governed_route(tool=tool)


def _route_name(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"
