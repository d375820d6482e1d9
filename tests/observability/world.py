"""A governed standalone gateway with in-process tools and keys that provoke every kind of refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import mcp_types as types
from prometheus_client.parser import text_string_to_metric_families

from mcp_guard import Gateway, InProcessServer
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools


def admin_tools() -> InProcessServer:
    tools = InProcessServer("ops")

    @tools.tool(annotations=types.ToolAnnotations(destructive_hint=True))
    async def wipe(target: str) -> str:
        """Delete a target (destructive: needs confirmation)."""
        return f"wiped {target}"

    return tools


@dataclass
class World:
    admin: str = field(default_factory=generate_key)
    worker: str = field(default_factory=generate_key)  # calc/* only, 2 calls of calc/upper a minute
    spender: str = field(default_factory=generate_key)  # team budget of $0.25 at $0.10 a call

    def document(self, **extra: Any) -> dict[str, Any]:
        return {
            "roles": {"admin": {"tools": ["*"], "admin": True}, "worker": {"tools": ["calc/*"]}},
            "teams": {"blue": {"budget": {"limit": 0.25, "period": "1d"}}},
            "keys": [
                {"name": "root", "hash": hash_key(self.admin), "roles": ["admin"]},
                {"name": "worker", "hash": hash_key(self.worker), "roles": ["worker"], "team": "red"},
                {"name": "spender", "hash": hash_key(self.spender), "roles": ["worker"], "team": "blue"},
            ],
            "auth": {"store": "memory://"},
            "rate_limits": {"rules": [{"key": "worker", "tools": "calc/upper", "limit": "2/minute"}]},
            "pricing": {"tools": {"calc/add": 0.10}},
            "audit": {"sink": "memory://"},
            **extra,
        }


@asynccontextmanager
async def served(world: World, **config: Any) -> AsyncIterator[tuple[Gateway, httpx2.AsyncClient]]:
    """The standalone app of a running gateway, and an HTTP client on it."""
    document = world.document(**config)
    document["teams"].setdefault("red", {})
    gateway = Gateway(parse_config(document), inprocess=[make_tools(), admin_tools()])
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


async def rest_call(http: httpx2.AsyncClient, key: str | None, tool: str, **arguments: Any) -> httpx2.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    call = {"id": "1", "type": "function", "function": {"name": tool, "arguments": arguments}}
    return await http.post("/mcp/tool/execute", json=call, headers=headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus-client's own text parser, by (name, sorted labels)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)
