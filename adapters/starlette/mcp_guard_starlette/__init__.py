"""mcp-guard for Starlette: one call mounts the gateway and governs its mount; the app's own routes stay
untouched unless they opt in.

    app = Starlette(routes=[...])
    install(app, gateway)

    @governed_route(tool="billing/invoice_total")
    async def invoices(request: Request) -> JSONResponse:
        principal = require_principal(request)

Refusals raised for an opted-in route render as problem+json.
"""

from mcp_guard import ToolRef
from mcp_guard.auth.principal import Principal

from .access import current_principal, gateway_of, governed_route, require_principal, require_tool_access
from .install import MOUNT, add_governance, gateway_lifespan, gateway_routes, install
from .problems import ProblemResponse, gateway_error_handler

__all__ = [
    "MOUNT",
    "Principal",
    "ProblemResponse",
    "ToolRef",
    "add_governance",
    "current_principal",
    "gateway_error_handler",
    "gateway_lifespan",
    "gateway_of",
    "gateway_routes",
    "governed_route",
    "install",
    "require_principal",
    "require_tool_access",
]
