"""The middlewares in front of the whole Litestar application, not only around matched routes.

Litestar runs its own middleware after routing and only for routes that matched, and after its CORS
middleware, which would answer the mount's preflights with the app's policy. So the plugin wraps
`Litestar.asgi_handler` (CORS and the router inside Litestar's exception handling), which every request
passes through, at the start of the app's lifespan; Litestar offers no earlier hook that sees the app
object. The stack governs only the gateway's mount and the paths the app named. `RequireGoverned`, an
ordinary (after-routing) middleware, refuses with 503 a request to one of the app paths the stack should
govern that reached its route without passing the wrapper (the lifespan never ran), and the mount's
handler does the same for the gateway itself: the gateway fails closed, the app's other routes keep
working.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from mcp_guard import Gateway
from mcp_guard.asgi import Scope, app_path, send_problem
from mcp_guard.errors import ServiceUnavailable
from mcp_guard.middleware import GovernanceStack, PathScope

PASSED = "mcp_guard.governed"  # scope key set by the wrapper, checked after routing


class Governed:
    """The governance stack in front of the app, marking each request it sees."""

    def __init__(self, app: Any, gateway: Gateway, paths: PathScope) -> None:
        self.app = GovernanceStack(app, gateway, paths=paths)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            scope[PASSED] = True
        await self.app(scope, receive, send)


def wrap_whole_app(app: Litestar, gateway: Gateway, paths: PathScope) -> None:
    """Put the stack in front of everything `app` serves (once, however often the lifespan runs)."""
    if not isinstance(app.asgi_handler, Governed):
        app.asgi_handler = Governed(app.asgi_handler, gateway, paths)  # type: ignore[assignment]  # raw ASGI


class RequireGoverned:
    """Route-level check that a request to a governed path came through `Governed`; 503 otherwise."""

    def __init__(self, app: Any, paths: PathScope) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get(PASSED) and self.paths.covers(app_path(scope)):
            error = ServiceUnavailable("mcp-guard is not running: the application's lifespan was not started")
            await send_problem(send, error, scope)
            return
        await self.app(scope, receive, send)
