"""The middlewares around the whole Litestar application, not only around matched routes.

Litestar runs its own middleware after routing and only for routes that matched, so an unknown path
would answer 404 without asking for a key and would not count against the per-key request limit. The
plugin therefore wraps `Litestar.asgi_handler` (the router inside Litestar's exception handling), which
every HTTP request passes through, at the start of the app's lifespan; Litestar offers no earlier hook
that sees the app object. `RequireGoverned`, an ordinary (after-routing) middleware, refuses with 503
if a request reached a route without passing the wrapper (the lifespan never ran): it fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Litestar

from mcp_guard import Gateway
from mcp_guard.asgi import Scope, send_problem
from mcp_guard.errors import ServiceUnavailable
from mcp_guard.middleware import governed

_PASSED = "mcp_guard.governed"  # scope key set by the wrapper, checked after routing


class Governed:
    """`governed(app)`, marking each HTTP request it sees."""

    def __init__(self, app: Any, gateway: Gateway, exempt_paths: Iterable[str]) -> None:
        self.app = governed(app, gateway, exempt_paths=exempt_paths)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[_PASSED] = True
        await self.app(scope, receive, send)


def wrap_whole_app(app: Litestar, gateway: Gateway, exempt_paths: Iterable[str]) -> None:
    """Put the five middlewares around everything `app` serves (once, however often the lifespan runs)."""
    if not isinstance(app.asgi_handler, Governed):
        app.asgi_handler = Governed(app.asgi_handler, gateway, exempt_paths)  # type: ignore[assignment]  # raw ASGI


class RequireGoverned:
    """Route-level check that the request came through `Governed`; 503 problem+json otherwise."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get(_PASSED):
            error = ServiceUnavailable("mcp-guard is not running: the application's lifespan was not started")
            await send_problem(send, error, scope)
            return
        await self.app(scope, receive, send)
