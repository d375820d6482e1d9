"""The tools page: the catalog, filtered by a word, with the roles that grant each tool, the keys that may
call it, the teams that deny it, the rate-limit rules that count it and its price."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..patterns import ToolPattern
from .request import Answer, Page, Request

if TYPE_CHECKING:
    from ..auth.identity import Identity
    from ..catalog import CatalogEntry
    from ..config import GatewayConfig
    from .handler import DashboardHost


async def tools_page(ui: DashboardHost, request: Request) -> Answer:
    config = ui.gateway.config
    wanted = request.query.get("q", "").lower()
    entries = [e for e in ui.gateway.catalog.entries() if wanted in f"{e.ref} {e.tool.description or ''}".lower()]
    keys = await _live_identities(ui)
    tools = [_tool_row(config, keys, entry) for entry in sorted(entries, key=lambda e: str(e.ref))]
    return Page("tools.html", {"tools": tools, "q": request.query.get("q", ""), "title": "Tools"})


async def _live_identities(ui: DashboardHost) -> list[Identity]:
    """Every key that can be used now (active, unexpired), from the file and the key store."""
    resolver = ui.gateway.governance.keys
    identities = [*resolver.config_keys.values(), *(resolver.identity(r) for r in await resolver.store.list())]
    now = time.time()
    return [i for i in identities if i.record.active and (i.record.expires_at is None or i.record.expires_at > now)]


def _tool_row(config: GatewayConfig, keys: list[Identity], entry: CatalogEntry) -> dict[str, Any]:
    """A tool with the roles that grant it, the keys that may call it (by their roles, team and own
    allow/deny lists), the teams that deny it, its rate limit rules and its price."""
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
        "keys": sorted(identity.record.name for identity in keys if identity.access.allows(ref)),
        "teams_denied": sorted(name for name, team in config.teams.items() if granted(team.deny)),
        "limits": [_rule_text(rule) for rule in limits],
        "price": config.pricing.cost_of(ref),
    }


def _rule_text(rule: Any) -> str:
    who = ", ".join(f"{kind} {value}" for kind in ("key", "role", "team") if (value := getattr(rule, kind)))
    return f"{rule.limit} per {rule.per}" + (f" ({who})" if who else "")
