"""`GatewayHost`: what the modules the gateway composes (the router, the chat endpoint, Code Mode, the
middlewares, the dashboard, the reload) use of the gateway.

Why a Protocol and not `Gateway` itself: `gateway.py` builds every one of those modules, so a module that
named `Gateway`, even for typing only, closed an import circle through it (issue 20, item 7). This module
sits below them and imports nothing at run time; `Gateway` satisfies it structurally, and mypy checks that
wherever the gateway hands itself over (`GatewayRouter(self)`, `Dashboard(self)`, ...). The attributes are
typed with the concrete classes of the gateway's parts, so a caller is checked as it was against `Gateway`.

It names only services that do not name it back: those that need the gateway's core only take
`core.GatewayCore` (the upstream manager, the operations endpoints, the listings), and Code Mode, which the
router reaches, adds its own service in `code_mode.CodeModeHost`. What the router serves for the gateway
(the dashboard) is typed as the ASGI app it calls. `tests/unit/test_import_layers.py` keeps it so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .core import GatewayCore

if TYPE_CHECKING:
    import mcp_types as types

    from .asgi import Scope
    from .chat.service import ChatService
    from .config import GatewayConfig
    from .listing import ListingCache
    from .names import ToolRef
    from .observability.operations import Operations
    from .servers.manager import UpstreamManager
    from .servers.store import ServerStore
    from .state import RequestState

AsgiApp = Callable[["Scope", Any, Any], Awaitable[None]]
AutoRule = Callable[["ToolRef"], bool]
"""Agent mode's restriction of what an `executeToolCode` program may call (`Gateway.call`'s `auto_only`)."""


class GatewayHost(GatewayCore, Protocol):
    """The gateway as the modules it composes see it (`mcp_guard.gateway.Gateway` is the one implementation)."""

    listings: ListingCache
    operations: Operations
    upstream_manager: UpstreamManager

    @property
    def dashboard(self) -> AsgiApp: ...

    @property
    def chat(self) -> ChatService: ...

    def server_store(self) -> ServerStore: ...

    async def reload(self, path: str | Path | None = None) -> dict[str, Any]: ...

    def with_code_servers(self, config: GatewayConfig) -> GatewayConfig: ...

    async def serve_lifespan(self, scope: Scope, receive: Any, send: Any) -> None: ...

    async def call(
        self,
        state: RequestState,
        name: str,
        arguments: Any,
        *,
        entry_point: str,
        mode: str = "manual",
        parent_id: str | None = None,
        confirmation: str | None = None,
        auto_only: AutoRule | None = None,
    ) -> types.CallToolResult: ...
