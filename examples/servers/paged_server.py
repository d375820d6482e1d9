"""Paged: a tiny low-level `mcp.server.Server` whose `tools/list` is paginated.

`MCPServer` returns every tool in a single page, so this server exists to test
clients and gateways that must follow `nextCursor`. It serves N trivial tools
`t0001..tNNNN` (each returns its own name) in pages of `--page-size`.

    python examples/servers/paged_server.py --transport stdio --tools 25
    python examples/servers/paged_server.py --transport http --port 8000   # /mcp

The cursor is the decimal offset of the next page; an unknown cursor is a
JSON-RPC "invalid params" error, as the spec asks.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import anyio
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
)


def tool_names(count: int) -> list[str]:
    """The names of the served tools, in listing order."""
    return [f"t{index:04d}" for index in range(1, count + 1)]


def _parse_cursor(cursor: str | None, total: int) -> int:
    """The offset a cursor stands for; reject anything this server did not hand out."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or int(cursor) >= total:
        raise MCPError(code=INVALID_PARAMS, message=f"Invalid cursor: {cursor!r}")
    return int(cursor)


def build_server(count: int = 25, page_size: int = 10) -> Server:
    """A server with `count` tools listed `page_size` at a time."""
    tools = [
        Tool(
            name=name,
            description=f"Trivial tool {name}",
            input_schema={"type": "object", "properties": {}},
            annotations=ToolAnnotations(read_only_hint=True),
        )
        for name in tool_names(count)
    ]
    known = {tool.name for tool in tools}

    async def list_tools(ctx: ServerRequestContext, params: PaginatedRequestParams | None) -> ListToolsResult:
        start = _parse_cursor(params.cursor if params else None, len(tools))
        end = start + page_size
        next_cursor = str(end) if end < len(tools) else None
        return ListToolsResult(tools=tools[start:end], next_cursor=next_cursor)

    async def call_tool(ctx: ServerRequestContext, params: CallToolRequestParams) -> CallToolResult:
        if params.name not in known:
            unknown = TextContent(type="text", text=f"Unknown tool: {params.name}")
            return CallToolResult(content=[unknown], is_error=True)
        return CallToolResult(content=[TextContent(type="text", text=params.name)])

    return Server("paged", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def _run_stdio(server: Server) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--tools", type=int, default=25, metavar="N")
    parser.add_argument("--page-size", type=int, default=10)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server on the chosen transport until it is stopped."""
    args = parse_args(argv)
    server = build_server(args.tools, args.page_size)
    if args.transport == "stdio":
        anyio.run(_run_stdio, server)
    else:
        app = server.streamable_http_app(host=args.host)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
