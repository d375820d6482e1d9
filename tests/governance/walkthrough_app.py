"""The seed walkthrough's world: seed servers as in-process tools, the seed policy, all five middlewares,
and an in-process HTTP client (the real ASGI stack, without sockets)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway, InProcessServer
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app

from .seed import Keys, seed_document

CALLS: Counter[str] = Counter()  # upstream invocations actually made, by tool reference


def seed_servers() -> list[InProcessServer]:
    database, search, files = InProcessServer("database"), InProcessServer("web-search"), InProcessServer("filesystem")

    @database.tool
    async def query(sql: str) -> list[dict[str, Any]]:
        """Run a read-only SQL query."""
        CALLS["database/query"] += 1
        await anyio.sleep(0.01)  # long enough for concurrent calls to overlap
        return [{"sql": sql}]

    @search.tool
    async def web_search(q: str) -> str:
        """Search the web."""
        CALLS["web-search/web_search"] += 1
        return f"results for {q}"

    @files.tool
    async def read_file(path: str) -> str:
        CALLS["filesystem/read_file"] += 1
        return f"contents of {path}"

    return [database, search, files]


def walkthrough_document(keys: Keys, **overrides: Any) -> dict[str, Any]:
    document = seed_document(
        keys,
        pricing={"servers": {"database": 0.01}, "tools": {"filesystem/read_file": 0.002, "web-search/*": 0.001}},
        audit={"sink": "memory://", "synchronous": True},
    )
    document["rate_limits"]["rules"] = [
        {"role": "marketing", "tools": "web-search/*", "limit": "100/minute"},
        {"role": "engineering", "tools": "database/*", "limit": "500/minute"},
    ]
    document.update(overrides)
    return document


@asynccontextmanager
async def governed_gateway(document: dict[str, Any]) -> AsyncIterator[tuple[Gateway, Any]]:
    CALLS.clear()
    gateway = Gateway(parse_config(document), inprocess=seed_servers())
    app = standalone_app(gateway)  # middlewares first, so their components join the lifespan
    async with gateway.lifespan():
        yield gateway, app


def http(app: Any, key: str | None = None, **headers: str) -> httpx2.AsyncClient:
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1/mcp", headers=headers)


def tool_call(name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


@asynccontextmanager
async def mcp_session(app: Any, key: str, mode: str = "auto", **headers: str) -> AsyncIterator[Client]:
    async with http(app, key, **headers) as client_http:
        async with Client(streamable_http_client("http://127.0.0.1/mcp", http_client=client_http), mode=mode) as client:
            yield client
