"""mcp-guard for FastAPI: `install` governs the app and mounts the gateway; dependencies give routes
the caller's principal and guard them by a tool's access rule.

    app = FastAPI()
    install(app, gateway, exempt_paths=["/health"])

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]: ...
"""

from mcp_guard_starlette import MOUNT, ProblemResponse, add_governance, gateway_lifespan, gateway_routes, install

from mcp_guard.auth.principal import Principal

from .dependencies import CurrentPrincipal, current_principal, requires_tool_access

__all__ = [
    "MOUNT",
    "CurrentPrincipal",
    "Principal",
    "ProblemResponse",
    "add_governance",
    "current_principal",
    "gateway_lifespan",
    "gateway_routes",
    "install",
    "requires_tool_access",
]
