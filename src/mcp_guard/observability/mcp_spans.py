"""The MCP server span of each message on the MCP endpoint, the same on the SDK path and the fast path.

It replaces the SDK's own `OpenTelemetryMiddleware` (same name, kind and attributes, which it takes from
the OpenTelemetry MCP conventions) so the gateway's tracer provider is used, the session id and transport
are recorded, and the fast path, which skips the SDK's per-request machinery, emits the identical span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from .tracing import mark_rpc_error, mark_tool_result

if TYPE_CHECKING:
    from .tracing import Tracing

_SESSION_HEADER = "mcp-session-id"


class McpSpanMiddleware:
    """A `ServerMiddleware` of the gateway's low-level MCP server."""

    def __init__(self, tracing: Tracing) -> None:
        self.tracing = tracing

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        name = ctx.params.get("name") if ctx.params else None
        request = ctx.request
        session = request.headers.get(_SESSION_HEADER) if request is not None else None
        meta = ctx.params.get("_meta") if ctx.params else None
        with self.tracing.mcp_span(
            ctx.method,
            name if isinstance(name, str) else None,
            request_id=ctx.request_id,
            protocol_version=ctx.protocol_version,
            meta=meta if isinstance(meta, dict) else None,
            session_id=session,
        ) as span:
            try:
                result = await call_next(ctx)
            except MCPError as exc:
                mark_rpc_error(span, exc.error.code, exc.error.message)
                raise
            if isinstance(result, types.CallToolResult):
                mark_tool_result(span, result.is_error)
            return result
