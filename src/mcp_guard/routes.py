"""Opting a host app's own route into governance. The framework adapters' idioms (a FastAPI dependency, a
Litestar guard, a Starlette decorator) all end here.

By default the gateway governs only its own mount; an app route it should govern says so with a
`RouteRule`. Admitting a request to such a route:

1. needs a key: the five middleware stages run on the request now if the middlewares did not (the route
   is outside the paths they govern), so a missing or unknown key is 401 and the per-key request limit
   counts the request;
2. `tool`: admits only callers who may use that tool, by a tool call's rules (roles, key and team
   allow/deny, the request's filter headers): 403 otherwise;
3. `rate`: a per-key limit on this route (`10/minute`), counted apart from every other limit: 429;
4. `cost`: charged to the caller's budget tiers (customer → team → key) on admission: 402 when a tier has
   no room;
5. one audit record per admission or refusal after authentication: tool `app/<route>`, entry `route`,
   the method and path as its arguments, the charge as its cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .asgi import Scope, app_path
from .auth.principal import Principal
from .errors import GatewayError
from .names import ToolRef
from .ratelimit.rate import Rate, parse_rate
from .state import RequestState
from .tool_call import ToolCall

if TYPE_CHECKING:
    from .chat.spend import LLMSpend
    from .gateway import Gateway

ROUTE_SERVER = "app"  # how the host app's own routes appear in audit records and analytics: `app/<route>`


async def principal_of(gateway: Gateway, scope: Scope) -> Principal:
    """The caller's principal; the five stages run on the request first if no middleware did (401 without
    a valid key, 429 over the per-key request limit)."""
    state = RequestState.from_scope(scope)
    if state.principal is None:
        await gateway.request_governance.apply(scope)
    return state.require_principal()


@dataclass(frozen=True, slots=True)
class RouteRule:
    """What a governed app route requires beyond a key. Build it once, at import time (`RouteRule.of`), so a
    malformed tool reference or rate fails when the app starts, not per request."""

    tool: ToolRef | None = None
    rate: Rate | None = None
    cost: float = 0.0
    name: str | None = None  # the route's name in audit records; default: what the adapter passes

    @classmethod
    def of(
        cls, *, tool: str | None = None, rate: str | None = None, cost: float = 0.0, name: str | None = None
    ) -> RouteRule:
        if cost < 0:
            raise ValueError(f"cost must not be negative, got {cost!r}")
        return cls(ToolRef.parse(tool) if tool else None, parse_rate(rate) if rate else None, float(cost), name)

    async def admit(self, gateway: Gateway, scope: Scope, route: str | None = None) -> Principal:
        """Admit this request to the route, or raise the `GatewayError` that refuses it."""
        principal = await principal_of(gateway, scope)
        state = RequestState.from_scope(scope)
        name = self.name or route or f"{scope.get('method', 'GET')} {app_path(scope)}"
        call = ToolCall(f"{ROUTE_SERVER}/{name}", _request_of(scope), state, entry_point="route")
        try:
            if self.tool is not None:
                state.check_visible(self.tool)
            if self.rate is not None:
                await gateway.governance.rate_limiter.hit_route(principal, self.rate, name)
            spend = _spend(gateway) if self.cost > 0 else None
            hold = None if spend is None else await spend.reserve(principal.budgets, self.cost, call_id=call.id)
            call.cost = self.cost
        except GatewayError as exc:
            await gateway.pipeline.record_call(call, exc)
            raise
        await gateway.pipeline.record_call(call)
        if spend is not None:  # booked after the record, at its time (as tool calls: `pipeline.py`)
            await spend.settle(hold, self.cost, now=call.ended)
        return principal


def _spend(gateway: Gateway) -> LLMSpend:
    """The ledger's reserve/commit over tiers (a route's charge is its price); loaded with the first charge."""
    from .chat.spend import LLMSpend

    return LLMSpend(gateway.governance.budget)


def _request_of(scope: Scope) -> dict[str, Any]:
    return {"method": scope.get("method", "GET"), "path": app_path(scope)}
