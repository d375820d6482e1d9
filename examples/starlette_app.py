"""Starlette: an existing order service governed by mcp-guard, serving MCP tools under /mcp.

Its own routes (`/health` public as before; `/orders` and `/orders/{id}/cancel` opted in to the gateway's
key), the shop's in-process tools (`examples/shop.py`) and the upstream servers of `examples/gateway.yaml`. Run it from
the repository root (the key hash: see `examples/gateway.yaml`):

    MCPG_ADMIN_KEY_HASH=sha256:... uvicorn examples.starlette_app:app --port 8003

then `curl -H "x-api-key: $KEY" http://127.0.0.1:8003/orders`, or point an MCP client at
`http://127.0.0.1:8003/mcp` with that key.
"""

from __future__ import annotations

from examples.shop import ORDERS, cancel_order, shop_gateway
from mcp_guard_starlette import governed_route, install, require_principal
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_guard import ToolError


async def health(request: Request) -> JSONResponse:
    """Public: the gateway leaves the app's routes alone unless they opt in."""
    return JSONResponse({"status": "ok"})


@governed_route()
async def list_orders(request: Request) -> JSONResponse:
    """Needs a key (the decorator opts the endpoint in); the principal says whose."""
    principal = require_principal(request)
    orders = [order.model_dump() for order in ORDERS.values()]
    return JSONResponse({"caller": principal.key_name, "orders": orders})


@governed_route(tool="orders/cancel_order", rate="30/minute")
async def cancel(request: Request) -> JSONResponse:
    """Allowed to exactly the callers who may use the `orders/cancel_order` tool (403 otherwise), 30 times a
    minute per key (429 beyond); every attempt is audited as `app/cancel`."""
    try:
        order = cancel_order(request.path_params["order_id"])
    except ToolError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse(order.model_dump())


gateway = shop_gateway()
app = Starlette(
    routes=[
        Route("/health", health),
        Route("/orders", list_orders),
        Route("/orders/{order_id}/cancel", cancel, methods=["POST"]),
    ]
)
install(app, gateway)  # governs /mcp; the endpoints above opt in one by one
