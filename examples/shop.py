"""The domain of the example shop that the three framework examples share: orders, two MCP tools over
them written as typed Python functions, and the gateway built from `examples/gateway.yaml`.

In a real service this is the code that already exists; mcp-guard only needs the `InProcessServer`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

import mcp_types as types
from pydantic import BaseModel

from mcp_guard import Gateway, InProcessServer, ToolError, load_config

CONFIG = Path(__file__).with_name("gateway.yaml")


class Order(BaseModel):
    id: str
    customer: str
    total: float
    status: Literal["open", "shipped", "cancelled"]


ORDERS: dict[str, Order] = {
    order.id: order
    for order in (
        Order(id="A-1001", customer="acme", total=120.0, status="open"),
        Order(id="A-1002", customer="acme", total=35.5, status="shipped"),
        Order(id="B-2001", customer="globex", total=990.0, status="open"),
    )
}

orders_tools = InProcessServer("orders")


@orders_tools.tool
def order_status(order_id: str) -> Order:
    """The order with this id (A-1001, A-1002, B-2001), with its status."""
    return _order(order_id)


def cancel_order(order_id: str) -> Order:
    """Cancel an open order."""
    order = _order(order_id)
    if order.status != "open":
        raise ToolError(f"order {order_id} is {order.status}, only open orders can be cancelled")
    ORDERS[order_id] = order = order.model_copy(update={"status": "cancelled"})
    return order


# Registered with `add` rather than the decorator so the routes that call it keep its type.
orders_tools.add(cancel_order, annotations=types.ToolAnnotations(destructive_hint=True))


def _order(order_id: str) -> Order:
    try:
        return ORDERS[order_id]
    except KeyError:
        raise ToolError(f"no order {order_id!r}") from None  # the model reads this message


def shop_gateway() -> Gateway:
    """`examples/gateway.yaml` plus the in-process `orders` server. The example servers run on this
    interpreter unless MCPG_PYTHON says otherwise; the yaml's other variables come from the environment."""
    environ = {"MCPG_PYTHON": sys.executable, **os.environ}
    return Gateway(load_config(CONFIG, environ=environ), inprocess=[orders_tools])
