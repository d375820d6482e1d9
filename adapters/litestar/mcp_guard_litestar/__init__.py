"""mcp-guard for Litestar: one plugin mounts the gateway, governs its mount and adds its routes to the app's
OpenAPI document; the app's own routes stay untouched unless they opt in with a guard or the principal.

    app = Litestar(route_handlers=[me, report], plugins=[MCPGuardPlugin(gateway)])

    @get("/me")
    async def me(principal: NamedDependency[Principal]) -> dict[str, str]: ...

    @post("/reports", guards=[governed_route(tool="billing/invoice_total", rate="10/minute")])
    async def report() -> dict[str, str]: ...
"""

from mcp_guard.auth.principal import Principal

from .access import governed_route, provide_principal, requires_tool_access
from .plugin import MOUNT, MCPGuardPlugin
from .problems import problem_response

__all__ = [
    "MOUNT",
    "MCPGuardPlugin",
    "Principal",
    "governed_route",
    "problem_response",
    "provide_principal",
    "requires_tool_access",
]
