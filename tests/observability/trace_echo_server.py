"""An HTTP MCP upstream whose one tool, `seen`, answers with the W3C trace context its request carried:
the `traceparent` HTTP header and `params._meta.traceparent`. Both protocol eras, JSON replies.

    python -m tests.observability.trace_echo_server --port 9100
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio
from mcp.server import Server, ServerRequestContext
from mcp_types import CallToolRequestParams, CallToolResult, ListToolsResult, PaginatedRequestParams, TextContent, Tool

SEEN = Tool(name="seen", description="The trace context of this request.", input_schema={"type": "object"})


async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
    return ListToolsResult(tools=[SEEN])


async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
    meta = params.model_dump(by_alias=True, mode="json").get("_meta") or {}
    header = ctx.request.headers.get("traceparent") if ctx.request is not None else None
    seen = {"header": header, "meta": meta.get("traceparent")}
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(seen))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server: Server[Any] = Server("trace-echo", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)
    server.middleware = []  # no spans of its own: the test reads what arrived, not what it traced

    async def serve() -> None:
        import uvicorn

        app = server.streamable_http_app(json_response=True, host="127.0.0.1")
        config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")
        await uvicorn.Server(config).serve()

    anyio.run(serve)


if __name__ == "__main__":
    main()
