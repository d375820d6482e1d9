"""FastAPI dependencies: the caller's principal, and a tool access guard for the app's own routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from mcp_guard_starlette import require_principal, require_tool_access

from mcp_guard import ToolRef
from mcp_guard.auth.principal import Principal


async def current_principal(request: Request) -> Principal:
    """The caller's principal (from its virtual key); 401 problem+json when the request has none."""
    return require_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""`principal: CurrentPrincipal` in a route's signature."""


def requires_tool_access(tool: str) -> Any:
    """A dependency that admits the request only if its key and filter headers allow `tool`
    (`server/tool`, checked by the gateway's own rules) and yields the principal; 401 or 403 otherwise.

        @app.post("/invoices", dependencies=[requires_tool_access("billing/create_invoice")])
    """
    ref = ToolRef.parse(tool)  # a malformed reference fails at import time, not per request

    async def tool_access(request: Request) -> Principal:
        return require_tool_access(request, ref)

    return Depends(tool_access)
