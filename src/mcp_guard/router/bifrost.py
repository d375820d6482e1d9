"""Bifrost's MCP REST paths, served at the root of the standalone server, so requests written for Bifrost
(maximhq/bifrost) work unchanged: each path is an mcp-guard endpoint under Bifrost's name.

| Bifrost | mcp-guard |
|---|---|
| `POST /v1/mcp/tool/execute` | `POST /mcp/tool/execute` (also `?format=responses`) |
| `POST /v1/chat/completions` | `POST /mcp/v1/chat/completions` |
| `GET /v1/analytics/costs` | `GET /mcp/analytics/costs`, plus Bifrost's dollar fields (below) |
| `GET /api/mcp/clients` | `GET /mcp/servers` |
| `POST /api/mcp/client/{name}/reconnect` | `POST /mcp/servers/{name}/reconnect` |

At `/v1/analytics/costs`, `total_cost`, `budget`, `remaining` and `usage_by_tool` are Bifrost's strings in
dollars (`"$127.45"`); the other fields are mcp-guard's.

The key may come in Bifrost's `x-bf-vk` header, filters in `x-bf-mcp-include-clients` /
`x-bf-mcp-include-tools`, and tool names in Bifrost's `client-tool` form (see `names.py`, `filters.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json
from ..budget.guard import usd
from ..budget.ledger import to_micros
from ..chat.endpoint import chat_completions
from . import admin, rest
from .rest_routes import Endpoint

if TYPE_CHECKING:
    from ..host import GatewayHost


async def bifrost_costs(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    report = await admin.cost_report(gateway, scope)
    dollars = {
        "total_cost": _usd(report["total"]),
        "budget": _usd(report["budget"]),
        "remaining": _usd(report["remaining"]),
        "usage_by_tool": [{**use, "cost": _usd(use["cost"])} for use in report["usage"]],
    }
    await send_json(send, 200, {**report, **dollars})


def _usd(amount: float | None) -> str | None:
    return None if amount is None else usd(to_micros(amount))


BIFROST_ROUTES = [
    Endpoint("POST", "/v1/mcp/tool/execute", rest.execute_tool, "any", "Bifrost: execute one tool call"),
    Endpoint("POST", "/v1/chat/completions", chat_completions, "any", "Bifrost: chat with tools"),
    Endpoint("GET", "/v1/analytics/costs", bifrost_costs, "admin", "Bifrost: cost breakdown"),
    Endpoint("GET", "/api/mcp/clients", rest.list_servers, "any", "Bifrost: the MCP clients (upstreams)"),
    Endpoint("POST", "/api/mcp/client/{name}/reconnect", rest.reconnect_server, "operator", "Bifrost: reconnect"),
]
