"""In-process tools: plain Python callables served as an upstream without any transport.

The function's typed parameters become the input schema and validate the arguments (pydantic, through the
`mcp` SDK's own `func_metadata`, so schemas match what an `MCPServer` would publish); a typed return value
becomes the output schema and structured content. A call is a direct function call: no JSON-RPC, no copy.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, overload

import anyio
import mcp_types as types
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool as _SdkTool
from pydantic import ValidationError

from ..config import ServerConfig
from ..errors import UpstreamTimeout
from .base import ToolsChanged, UpstreamState, UpstreamStatus

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["InProcessServer", "InProcessUpstream", "ToolError"]


class InProcessServer:
    """A named set of Python functions offered as MCP tools.

        tools = InProcessServer("billing")

        @tools.tool
        async def invoice_total(customer_id: str, month: str) -> float:
            "Total invoiced to a customer in a month (YYYY-MM)."
            ...

    Raise `ToolError("message")` for a failure the model should read; any other exception is reported
    as a crash with an error id (the traceback goes to the gateway log, never to the caller).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._tools: dict[str, _SdkTool] = {}

    @overload
    def tool(self, fn: F, /) -> F: ...
    @overload
    def tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        annotations: types.ToolAnnotations | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        annotations: types.ToolAnnotations | None = None,
    ) -> Any:
        """Register `fn` as a tool (usable bare or with keyword options)."""

        def register(func: F) -> F:
            self.add(func, name=name, description=description, annotations=annotations)
            return func

        return register(fn) if fn is not None else register

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        annotations: types.ToolAnnotations | None = None,
    ) -> None:
        tool = _SdkTool.from_function(fn, name=name, description=description, annotations=annotations)
        if tool.name in self._tools:
            raise ValueError(f"in-process server {self.name!r} already has a tool named {tool.name!r}")
        self._tools[tool.name] = tool

    def list_tools(self) -> list[types.Tool]:
        return [
            types.Tool(
                name=t.name,
                title=t.title,
                description=t.description,
                input_schema=t.parameters,
                output_schema=t.output_schema,
                annotations=t.annotations,
            )
            for t in self._tools.values()
        ]

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return _error_result(f"Unknown tool: {name}")
        meta = tool.fn_metadata
        try:
            validated = meta.validate_arguments(arguments)
        except ValidationError as exc:
            return _error_result(f"Invalid arguments for tool {name}: {exc}")
        try:
            value = await meta.call_fn(tool.fn, tool.is_async, validated)
            result = meta.convert_result(value)
        except ToolError as exc:
            return _error_result(f"Error executing tool {name}: {exc}")
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            logger.exception("in-process tool %s/%s crashed (error id %s)", self.name, name, error_id)
            return _error_result(f"Error executing tool {name} (error id {error_id}; details in the gateway log)")
        if not isinstance(result, types.CallToolResult):
            return _error_result(f"Tool {name} asked for client input, which the gateway does not relay")
        return result


def _error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


class InProcessUpstream:
    """Adapts an `InProcessServer` to the `Upstream` protocol: always connected, calls are direct."""

    def __init__(self, config: ServerConfig, server: InProcessServer) -> None:
        self.config = config
        self.server = server
        self.status = UpstreamStatus(name=config.name, transport="inprocess")
        self._ready = anyio.Event()

    async def run(self, on_tools: ToolsChanged) -> None:
        tools = self.server.list_tools()
        on_tools(self.config.name, tools)
        self.status.tool_count = len(tools)
        self.status.record(UpstreamState.CONNECTED)
        self.status.connected_since = self.status.last_check
        self._ready.set()
        await anyio.sleep(math.inf)

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        with anyio.move_on_after(self.config.call_timeout):
            return await self.server.call(tool, arguments)
        raise UpstreamTimeout(f"Tool '{self.config.name}/{tool}' did not finish within {self.config.call_timeout:g} s")

    def reconnect(self) -> None:
        """Nothing to reconnect: the tools live in this process."""

    async def wait_first_attempt(self) -> None:
        await self._ready.wait()
