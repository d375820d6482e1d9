"""The standalone server: the gateway router under `/mcp`, for teams without an app of their own."""

from __future__ import annotations

from typing import Any

from .asgi import Scope, send_json, send_problem
from .errors import NotFound
from .gateway import Gateway
from .middleware import governed

MOUNT = "/mcp"


def standalone_app(gateway: Gateway, *, mount: str = MOUNT) -> Any:
    """`gateway.router` at `mount` (both `/mcp` and `/mcp/...`, without redirects), behind all five
    governance middlewares; only the index page `/` answers without a key."""
    return governed(_mounted(gateway, mount), gateway, exempt_paths=("/",))


def _mounted(gateway: Gateway, mount: str) -> Any:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await gateway.serve_lifespan(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == mount or path.startswith(mount + "/"):
            await gateway.router({**scope, "root_path": scope.get("root_path", "") + mount}, receive, send)
        elif scope["type"] == "http" and path == "/":
            await send_json(send, 200, {"service": "mcp-guard", "mcp": mount, "tools": f"{mount}/tools"})
        elif scope["type"] == "http":
            await send_problem(send, NotFound(f"No route {path!r}; the gateway is mounted at {mount!r}"), scope)

    return app


def serve(gateway: Gateway, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(standalone_app(gateway), host=host, port=port, log_level=log_level, lifespan="on")
