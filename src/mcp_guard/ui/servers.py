"""The servers page (state of every upstream; reconnect, disable, enable) and the tools page (the catalog
with who may see each tool, its rate limits and its price)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import GatewayError, NotFound
from ..patterns import ToolPattern
from ..router.servers_admin import switch_server
from .actions import record_action
from .request import Answer, Page, Redirect, Request

if TYPE_CHECKING:
    from ..catalog import CatalogEntry
    from ..config import GatewayConfig
    from .app import Dashboard


async def servers_page(ui: Dashboard, request: Request) -> Answer:
    gateway = ui.gateway
    manager = gateway.upstream_manager
    rows: list[dict[str, Any]] = []
    for name, config in sorted(manager.wanted().items()):
        upstream = gateway.upstreams.get(name)
        status = upstream.status.as_dict() if upstream is not None else {"state": "disabled"}
        rows.append({**status, "name": name, "transport": config.transport, "enabled": config.enabled,
                     "source": manager.source(name)})  # fmt: skip
    return Page("servers.html", {"servers": rows, "title": "Servers"})


async def server_action(ui: Dashboard, request: Request) -> Answer:
    name, action = request.params["name"], request.params["action"]
    try:
        if action == "reconnect":
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
    done = {"reconnect": "is reconnecting", "enable": "is enabled", "disable": "is disabled"}[action]
    request.notify("ok", f"Server {name} {done}.")
    return Redirect("/servers")


async def tools_page(ui: Dashboard, request: Request) -> Answer:
    config = ui.gateway.config
    wanted = request.query.get("q", "").lower()
    entries = [e for e in ui.gateway.catalog.entries() if wanted in f"{e.ref} {e.tool.description or ''}".lower()]
    tools = [_tool_row(config, entry) for entry in sorted(entries, key=lambda e: str(e.ref))]
    return Page("tools.html", {"tools": tools, "q": request.query.get("q", ""), "title": "Tools"})


def _tool_row(config: GatewayConfig, entry: CatalogEntry) -> dict[str, Any]:
    """A tool with the roles that grant it, the teams that deny it, its rate limit rules and its price."""
    ref = entry.ref

    def granted(patterns: list[str]) -> bool:
        return any(ToolPattern.parse(text).matches(ref) for text in patterns)

    limits = [rule for rule in config.rate_limits.rules if ToolPattern.parse(rule.tools).matches(ref)]
    return {
        "ref": str(ref),
        "name": entry.name,
        "description": entry.tool.description or "",
        "destructive": entry.destructive,
        "roles": sorted(name for name, role in config.roles.items() if granted(role.tools)),
        "teams_denied": sorted(name for name, team in config.teams.items() if granted(team.deny)),
        "limits": [_rule_text(rule) for rule in limits],
        "price": config.pricing.cost_of(ref),
    }


def _rule_text(rule: Any) -> str:
    who = ", ".join(f"{kind} {value}" for kind in ("key", "role", "team") if (value := getattr(rule, kind)))
    return f"{rule.limit} per {rule.per}" + (f" ({who})" if who else "")
