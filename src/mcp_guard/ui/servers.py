"""The servers page: the state and latency of every upstream; add a runtime server, reconnect, disable,
enable or remove one (the code behind `POST /mcp/servers…`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import GatewayError, NotFound
from ..router.servers_admin import add_runtime_server, remove_runtime_server, switch_server
from .actions import UI_SERVER, record_action
from .audit import settled
from .request import Answer, Page, Redirect, Request

LATENCY_CALLS = 1000  # the latency columns summarise the newest this many calls (all servers together)

if TYPE_CHECKING:
    from .handler import DashboardHost


async def servers_page(ui: DashboardHost, request: Request) -> Answer:
    gateway = ui.gateway
    manager = gateway.upstream_manager
    latency = await _latency(ui)
    rows: list[dict[str, Any]] = []
    for name, config in sorted(manager.wanted().items()):
        upstream = gateway.upstreams.get(name)
        status = upstream.status.as_dict() if upstream is not None else {"state": "disabled"}
        rows.append({**status, "name": name, "transport": config.transport, "enabled": config.enabled,
                     "source": manager.source(name), "latency": latency.get(name)})  # fmt: skip
    context = {"servers": rows, "title": "Servers", "transports": gateway.config.servers_api.transports,
               "latency_window": LATENCY_CALLS}  # fmt: skip
    return Page("servers.html", context)


async def add_server(ui: DashboardHost, request: Request) -> Answer:
    entry: dict[str, Any] = {"name": request.field("name"), "transport": request.field("transport")}
    for field in ("url", "command"):
        if request.field(field):
            entry[field] = request.field(field)
    try:
        name = await add_runtime_server(ui.gateway, entry)
    except GatewayError as exc:
        await record_action(ui.gateway, request, "add_server", entry, exc)
        request.notify("error", f"The server was not added: {exc.message}")
        return Redirect("/servers")
    await record_action(ui.gateway, request, "add_server", entry)
    request.notify("ok", f"Server {name} added: it connects in a moment (every gateway process follows).")
    return Redirect("/servers")


async def server_action(ui: DashboardHost, request: Request) -> Answer:
    name, action = request.params["name"], request.params["action"]
    try:
        if action == "remove":
            await remove_runtime_server(ui.gateway, name)
        elif action == "reconnect":
            upstream = ui.gateway.upstreams.get(name)
            if upstream is None:
                raise NotFound(f"Server {name!r} is not running (disabled or unknown): nothing to reconnect")
            upstream.reconnect()
        else:
            await switch_server(ui.gateway, name, enabled=action == "enable")
    except GatewayError as exc:
        await record_action(ui.gateway, request, f"{action}_server", {"server": name}, exc)
        request.notify("error", exc.message)
        return Redirect("/servers")
    await record_action(ui.gateway, request, f"{action}_server", {"server": name})
    done = {"reconnect": "is reconnecting", "enable": "is enabled", "disable": "is disabled", "remove": "is removed"}
    request.notify("ok", f"Server {name} {done[action]}.")
    return Redirect("/servers")


async def _latency(ui: DashboardHost) -> dict[str, dict[str, float]]:
    """p50 and p95 duration (ms) and count of each server's calls among the newest `LATENCY_CALLS` audited
    calls that reached it (allowed; the dashboard's own actions left out)."""
    await settled(ui)
    records = await ui.gateway.governance.audit.query(decision="allowed", limit=LATENCY_CALLS)
    durations: dict[str, list[float]] = {}
    for record in records:
        if record["server"] != UI_SERVER:
            durations.setdefault(record["server"], []).append(record["duration_ms"])
    return {server: _percentiles(values) for server, values in durations.items()}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:  # nearest rank
        return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]

    return {"p50": at(0.5), "p95": at(0.95), "calls": len(ordered)}
