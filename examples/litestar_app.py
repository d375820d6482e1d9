"""Litestar: an existing order service governed by mcp-guard, serving MCP tools under /mcp.

Its own routes (`/health` public as before; `/orders` and `/orders/{id}/cancel` opted in to the gateway's
key), the shop's in-process tools (`examples/shop.py`) and the upstream servers of `examples/gateway.yaml`. Run it from
the repository root (the key hash: see `examples/gateway.yaml`):

    MCPG_ADMIN_KEY_HASH=sha256:... uvicorn examples.litestar_app:app --port 8002

then `curl -H "x-api-key: $KEY" http://127.0.0.1:8002/orders`, or point an MCP client at
`http://127.0.0.1:8002/mcp` with that key.
"""

from __future__ import annotations

from typing import Any

from examples.shop import ORDERS, Order, cancel_order, shop_gateway
from litestar import Litestar, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from mcp_guard_litestar import MCPGuardPlugin, Principal, governed_route

from mcp_guard import ToolError


@get("/health")
async def health() -> dict[str, str]:
    """Public: the gateway leaves the app's routes alone unless they opt in."""
    return {"status": "ok"}


@get("/orders")
async def list_orders(principal: NamedDependency[Principal]) -> dict[str, Any]:
    """Needs a key: asking for the principal opts the route in."""
    return {"caller": principal.key_name, "orders": list(ORDERS.values())}


@post(
    "/orders/{order_id:str}/cancel",
    guards=[governed_route(tool="orders/cancel_order", rate="30/minute")],
    status_code=200,
)
async def cancel(order_id: str) -> Order:
    """Allowed to exactly the callers who may use the `orders/cancel_order` tool (403 otherwise), 30 times a
    minute per key (429 beyond); every attempt is audited as `app/POST /orders/{order_id}/cancel`."""
    try:
        return cancel_order(order_id)
    except ToolError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


gateway = shop_gateway()
app = Litestar(
    route_handlers=[health, list_orders, cancel],
    plugins=[MCPGuardPlugin(gateway)],  # governs /mcp; the routes above opt in one by one
)
