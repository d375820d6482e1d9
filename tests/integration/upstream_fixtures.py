"""Gateways in front of real upstream servers, and small polling helpers (bounded, no bare sleeps)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import StdioServerParameters

from mcp_guard import Gateway, GatewayConfig, ServerConfig


def stdio_config(name: str, params: StdioServerParameters, **settings: Any) -> ServerConfig:
    return ServerConfig(
        name=name, transport="stdio", command=params.command, args=params.args, env=params.env or {}, **settings
    )


def url_config(name: str, url: str, transport: str = "http", **settings: Any) -> ServerConfig:
    return ServerConfig(name=name, transport=transport, url=url, **settings)  # type: ignore[arg-type]


@asynccontextmanager
async def gateway_for(*servers: ServerConfig) -> AsyncIterator[Gateway]:
    gateway = Gateway(GatewayConfig(servers=list(servers)))
    async with gateway.lifespan():
        yield gateway


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` every 50 ms; fail with `what` after `timeout` seconds."""
    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.05)
        return
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@asynccontextmanager
async def keyed_client(
    url: str, key: str, *, mode: str = "auto", headers: dict[str, str] | None = None
) -> AsyncIterator[Any]:
    """An `mcp.Client` on a real URL that presents `key` (and any extra headers) on every request."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    # the transport does not close a client it is given: this context does
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {key}", **(headers or {})}) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client
