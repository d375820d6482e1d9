"""MountCORSMiddleware: CORS for the gateway's own routes, so an MCP client in a browser page on another
origin can reach `/mcp` (configured by `cors:`; off by default).

It answers the preflights to the paths it covers with the gateway's policy, not the host app's (whose CORS
settings may not allow MCP's headers), and adds the CORS headers to the gateway's responses. Preflights to
any other path go on to the app untouched. The browser-facing headers MCP needs are exposed
(`Mcp-Session-Id`, the 401/429 headers), and every request header is allowed: the key headers, MCP's own
(`Mcp-Protocol-Version`, `Mcp-Session-Id`, `Mcp-Method`, `Mcp-Param-*`) and the filter headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.middleware.cors import CORSMiddleware

from ..asgi import Scope, app_path
from .base import Paths, path_scope
from .header_filter import WARNING_HEADER
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..config import CORSSettings

EXPOSED_HEADERS = [
    "Mcp-Session-Id",
    "Mcp-Protocol-Version",
    "WWW-Authenticate",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    WARNING_HEADER.decode(),
]


class MountCORSMiddleware:
    def __init__(self, app: Any, *, settings: CORSSettings, paths: Paths = DEFAULT_PATHS) -> None:
        self.app = app
        self.paths = path_scope(paths)
        self.cors = CORSMiddleware(
            app,
            allow_origins=settings.allow_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"],
            allow_credentials=settings.allow_credentials,
            expose_headers=EXPOSED_HEADERS,
            max_age=settings.max_age,
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.paths.covers(app_path(scope)):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
