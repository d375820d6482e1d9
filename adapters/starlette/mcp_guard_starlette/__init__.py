"""mcp-guard for Starlette: one call governs an app and mounts the gateway.

    app = Starlette(routes=[...])
    install(app, gateway, exempt_paths=["/health"])

Endpoints read the caller with `require_principal(request)`, and check a tool's access rule with
`require_tool_access(request, ToolRef.parse("server/tool"))`; a refusal renders as problem+json.
"""

from mcp_guard import ToolRef
from mcp_guard.auth.principal import Principal

from .access import require_principal, require_tool_access
from .install import MOUNT, add_governance, gateway_lifespan, gateway_routes, install
from .problems import ProblemResponse, gateway_error_handler

__all__ = [
    "MOUNT",
    "Principal",
    "ProblemResponse",
    "ToolRef",
    "add_governance",
    "gateway_error_handler",
    "gateway_lifespan",
    "gateway_routes",
    "install",
    "require_principal",
    "require_tool_access",
]
