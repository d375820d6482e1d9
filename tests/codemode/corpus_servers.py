"""The corpus's little world served as real MCP servers (low-level `mcp.server.Server` objects), so the
corpus can also run through the gateway: MCP client, pipeline, Code Mode, and back."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp.server import Server

from mcp_guard.codemode import ToolCallError, ToolOutcome

from .fakes import FakeBackend, Handler


def corpus_servers(backend: FakeBackend) -> list[Server[Any]]:
    return [_server(name, handlers) for name, handlers in backend.servers.items()]


def _server(name: str, handlers: dict[str, Handler]) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[types.Tool(name=tool, input_schema={"type": "object"}) for tool in sorted(handlers)]
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            value = await handlers[params.name](dict(params.arguments or {}))
        except ToolCallError as exc:
            return _result(exc.message, error=True)
        if isinstance(value, ToolOutcome):
            return _result(value.error or "", error=value.error is not None) if value.error else _value(value.value)
        return _value(value)

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


def _value(value: Any) -> types.CallToolResult:
    """Objects as structured content; everything else as JSON text (Code Mode parses arrays back)."""
    if isinstance(value, dict):
        return types.CallToolResult(content=[_text(json.dumps(value))], structured_content=value)
    return _result(value if isinstance(value, str) else json.dumps(value))


def _result(text: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[_text(text)], is_error=error)


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)
