"""mcp-guard for Litestar: one plugin governs the whole app and mounts the gateway; handlers get the
caller's principal by dependency injection.

    app = Litestar(route_handlers=[me], plugins=[MCPGuardPlugin(gateway, exempt_paths=["/health"])])

    @get("/me")
    async def me(principal: NamedDependency[Principal]) -> dict[str, str]: ...
"""

from mcp_guard.auth.principal import Principal

from .access import provide_principal, requires_tool_access
from .plugin import MOUNT, MCPGuardPlugin
from .problems import problem_response

__all__ = ["MOUNT", "MCPGuardPlugin", "Principal", "problem_response", "provide_principal", "requires_tool_access"]
