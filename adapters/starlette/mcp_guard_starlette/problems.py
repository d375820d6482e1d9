"""Gateway refusals raised inside the host app, rendered as the gateway renders its own: RFC 9457."""

from __future__ import annotations

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response

from mcp_guard import GatewayError
from mcp_guard.asgi import problem_body


class ProblemResponse(Response):
    """`application/problem+json` for a `GatewayError`, with the headers it carries (`WWW-Authenticate`,
    `Retry-After`, ...): the body `mcp_guard.asgi.send_problem` sends on the gateway's own routes."""

    media_type = "application/problem+json"

    def __init__(self, error: GatewayError, instance: str | None = None) -> None:
        body = pydantic_core.to_json(problem_body(error, instance))
        super().__init__(body, status_code=error.status, headers=error.headers)


async def gateway_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette / FastAPI exception handler for `GatewayError` (registered by `install`)."""
    if not isinstance(exc, GatewayError):  # registered for GatewayError only; anything else is a bug
        raise exc
    return ProblemResponse(exc, request.scope.get("path"))
