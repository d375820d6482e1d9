"""FastAPI: an existing order service governed by mcp-guard, serving MCP tools under /mcp.

Its own routes (`/health` public, `/orders` and `/orders/{id}/cancel` behind a key), the shop's
in-process tools (`examples/shop.py`) and the upstream servers of `examples/gateway.yaml`. Run it from
the repository root (the key hash: see `examples/gateway.yaml`):

    MCPG_ADMIN_KEY_HASH=sha256:... uvicorn examples.fastapi_app:app --port 8001

then `curl -H "x-api-key: $KEY" http://127.0.0.1:8001/orders`, or point an MCP client at
`http://127.0.0.1:8001/mcp` with that key.
"""

from __future__ import annotations

from typing import Any

from examples.shop import ORDERS, Order, cancel_order, shop_gateway
from fastapi import FastAPI, HTTPException
from mcp_guard_fastapi import CurrentPrincipal, install, requires_tool_access

from mcp_guard import ToolError

gateway = shop_gateway()
app = FastAPI(title="shop (FastAPI)")
install(app, gateway, exempt_paths=["/health"])


@app.get("/health")
async def health() -> dict[str, str]:
    """Public: exempt from the key check."""
    return {"status": "ok"}


@app.get("/orders")
async def list_orders(principal: CurrentPrincipal) -> dict[str, Any]:
    """Needs a key, like every route not exempted; the principal says whose."""
    return {"caller": principal.key_name, "orders": list(ORDERS.values())}


@app.post("/orders/{order_id}/cancel", dependencies=[requires_tool_access("orders/cancel_order")])
async def cancel(order_id: str) -> Order:
    """Allowed to exactly the callers who may use the `orders/cancel_order` tool (403 otherwise)."""
    try:
        return cancel_order(order_id)
    except ToolError as exc:
        raise HTTPException(409, str(exc)) from None
