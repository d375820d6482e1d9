"""In-process tools and an in-process HTTP client for driving a Gateway without sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway, GatewayConfig, InProcessServer, ToolError


def make_tools() -> InProcessServer:
    tools = InProcessServer("calc")

    @tools.tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tools.tool
    def upper(text: str) -> str:
        return text.upper()

    @tools.tool
    async def refuse(reason: str) -> str:
        raise ToolError(f"refused: {reason}")

    @tools.tool
    async def crash() -> str:
        raise RuntimeError("secret connection string postgres://admin:pw@db")

    @tools.tool
    async def hang(seconds: float = 60) -> str:
        await anyio.sleep(seconds)
        return "done"

    return tools


@asynccontextmanager
async def running_gateway(config: GatewayConfig | None = None, **kwargs: object) -> AsyncIterator[Gateway]:
    gateway = Gateway(config or GatewayConfig(), inprocess=[make_tools()], **kwargs)  # type: ignore[arg-type]
    async with gateway.lifespan():
        yield gateway


def http_client(app: object, **kwargs: object) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1", **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def mcp_client(app: object, mode: str = "auto", headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    async with http_client(app, headers=headers or {}) as http:
        async with Client(streamable_http_client("http://127.0.0.1/", http_client=http), mode=mode) as client:
            yield client
