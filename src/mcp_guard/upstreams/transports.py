"""Opening an `mcp.Client` for a configured server, one function per transport."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ..config import ServerConfig

# An SSE/streamable-HTTP response stream may stay open between events for a long time.
_STREAM_READ_TIMEOUT = 300.0


async def open_transport(
    stack: AsyncExitStack, config: ServerConfig, on_message: MessageHandlerFnT, server: Any = None
) -> Client:
    """Connect (and negotiate the protocol era) inside `stack`; the caller's scope bounds the time.
    `server` is an in-process MCP server object, for `inprocess` servers registered as such."""
    client = Client(
        server if server is not None else await _target(stack, config),
        mode=config.protocol,
        message_handler=on_message,
        read_timeout_seconds=config.call_timeout,
        cache=None,  # the gateway keeps its own catalog; stale cached listings would hide changes
    )
    return await stack.enter_async_context(client)


async def _target(stack: AsyncExitStack, config: ServerConfig) -> Any:
    if config.transport == "stdio":
        # The SDK starts the child in its own session and kills the whole process group on exit; its
        # environment is the configured `env` over a fixed minimal base (PATH, HOME, USER, ...), never ours.
        return StdioServerParameters(command=_require(config.command), args=config.args, env=config.env, cwd=config.cwd)
    if config.transport == "sse":
        return sse_client(
            _require(config.url),
            headers=config.headers or None,
            timeout=config.connect_timeout,
            sse_read_timeout=_STREAM_READ_TIMEOUT,
        )
    # http: the transport does not close a client it is given, so the stack does, after the session.
    http = await stack.enter_async_context(_target_http_client(config))
    return streamable_http_client(_require(config.url), http_client=http)


def _target_http_client(config: ServerConfig) -> httpx2.AsyncClient:
    timeout = httpx2.Timeout(config.connect_timeout, read=max(_STREAM_READ_TIMEOUT, config.call_timeout))
    return create_mcp_http_client(headers=config.headers or None, timeout=timeout)


def _require(value: str | None) -> str:
    if value is None:  # config validation guarantees it; this keeps the type checker honest
        raise ValueError("missing transport setting")
    return value
