"""mcp-guard for FastAPI: `install` mounts the gateway, governs its mount and adds its routes to the app's
OpenAPI document; the app's own routes stay untouched unless they opt in with a dependency.

    app = FastAPI()
    install(app, gateway)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]: ...

    @app.post("/reports", dependencies=[governed_route(tool="billing/invoice_total", rate="10/minute")])
    async def report() -> dict[str, str]: ...
"""

from mcp_guard_starlette import ProblemResponse, add_governance, gateway_lifespan, gateway_routes

from mcp_guard.auth.principal import Principal

from .dependencies import CurrentPrincipal, current_principal, governed_route, requires_tool_access
from .install import MOUNT, add_openapi, install

__all__ = [
    "MOUNT",
    "CurrentPrincipal",
    "Principal",
    "ProblemResponse",
    "add_governance",
    "add_openapi",
    "current_principal",
    "gateway_lifespan",
    "gateway_routes",
    "governed_route",
    "install",
    "requires_tool_access",
]
