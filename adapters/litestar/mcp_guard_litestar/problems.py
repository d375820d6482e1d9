"""Gateway refusals raised inside the host app, rendered as the gateway renders its own: RFC 9457."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from mcp_guard import GatewayError
from mcp_guard.asgi import PROBLEM_JSON, problem_body


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for `GatewayError` (registered by the plugin): the body and headers
    `mcp_guard.asgi.send_problem` sends on the gateway's own routes."""
    if not isinstance(exc, GatewayError):  # registered for GatewayError only; anything else is a bug
        raise exc
    return Response(
        content=problem_body(exc, request.scope.get("path")),
        status_code=exc.status,
        headers=exc.headers,
        media_type=PROBLEM_JSON.decode(),
    )
