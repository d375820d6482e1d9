"""The benchmark upstream: a minimal low-level `mcp` SDK server with one `echo` tool, over streamable HTTP
(or stdio).

Low-level `mcp.server.Server` on purpose: no argument model, no output schema, no structured content, so
what it costs is the SDK's own serving path and little else. It serves both protocol eras (2026-07-28 and
the handshake era), answers with one JSON body per request (`json_response`), and logs nothing per request.

    python bench/echo_server.py --port 9100            # streamable HTTP at /mcp
    python bench/echo_server.py --transport stdio
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp_types import CallToolRequestParams, CallToolResult, ListToolsResult, PaginatedRequestParams, TextContent, Tool

ECHO = Tool(
    name="echo",
    description="Return `text` unchanged.",
    input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
    return ListToolsResult(tools=[ECHO])


async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
    if params.name != "echo":
        return CallToolResult(content=[TextContent(type="text", text=f"Unknown tool: {params.name}")], is_error=True)
    text = str((params.arguments or {}).get("text", ""))
    return CallToolResult(content=[TextContent(type="text", text=text)])


server: Server[Any] = Server("echo", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_http(host: str, port: int) -> None:
    import uvicorn

    app = server.streamable_http_app(json_response=True, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    await uvicorn.Server(config).serve()


async def serve_stdio() -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["http", "stdio"], default="http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    if args.transport == "stdio":
        anyio.run(serve_stdio)
    else:
        anyio.run(serve_http, args.host, args.port)


if __name__ == "__main__":
    main()
