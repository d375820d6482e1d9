"""FastAPI: an existing order service governed by mcp-guard, serving MCP tools under /mcp.

Its own routes (`/health` public as before; `/orders` and `/orders/{id}/cancel` opted in to the gateway's
key), the shop's in-process tools (`examples/shop.py`) and the upstream servers of `examples/gateway.yaml`. Run it from
the repository root (the key hash: see `examples/gateway.yaml`):

    MCPG_ADMIN_KEY_HASH=sha256:... uvicorn examples.fastapi_app:app --port 8001

then `curl -H "x-api-key: $KEY" http://127.0.0.1:8001/orders`, or point an MCP client at
`http://127.0.0.1:8001/mcp` with that key.
"""

from __future__ import annotations

from typing import Any

from examples.shop import ORDERS, Order, cancel_order, shop_gateway
from fastapi import FastAPI, HTTPException
from mcp_guard_fastapi import CurrentPrincipal, governed_route, install

from mcp_guard import ToolError

gateway = shop_gateway()
app = FastAPI(title="shop (FastAPI)")
install(app, gateway)  # governs /mcp; the routes below opt in one by one


@app.get("/health")
async def health() -> dict[str, str]:
    """Public: the gateway leaves the app's routes alone unless they opt in."""
    return {"status": "ok"}


@app.get("/orders")
async def list_orders(principal: CurrentPrincipal) -> dict[str, Any]:
    """Needs a key: asking for the principal opts the route in."""
    return {"caller": principal.key_name, "orders": list(ORDERS.values())}


@app.post("/orders/{order_id}/cancel", dependencies=[governed_route(tool="orders/cancel_order", rate="30/minute")])
async def cancel(order_id: str) -> Order:
    """Allowed to exactly the callers who may use the `orders/cancel_order` tool (403 otherwise), 30 times a
    minute per key (429 beyond); every attempt is audited as `app/POST /orders/{order_id}/cancel`."""
    try:
        return cancel_order(order_id)
    except ToolError as exc:
        raise HTTPException(409, str(exc)) from None
