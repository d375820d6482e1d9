"""`GatewayHost`: what the modules the gateway composes (the router, the chat endpoint, Code Mode, the
middlewares, the dashboard, the operations endpoints, the upstream manager) use of the gateway.

Why a Protocol and not `Gateway` itself: `gateway.py` builds every one of those modules, so a module that
named `Gateway`, even for typing only, closed an import circle through it (issue 20, item 7). This module
sits below them and imports nothing at run time; `Gateway` satisfies it structurally, and mypy checks that
wherever the gateway hands itself over (`GatewayRouter(self)`, `UpstreamManager(self, ...)`, ...). The
attributes are typed with the concrete classes of the gateway's parts, so a caller gets the same checking
it had with `Gateway`; what the router serves for the gateway (the dashboard, its own lifespan) is typed
as the ASGI callable the router calls, and what the upstream manager tells the router is `UpstreamNews`.
`tests/unit/test_import_layers.py` keeps the circle closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import mcp_types as types

    from .asgi import Scope
    from .catalog import Catalog
    from .chat.confirmations import ConfirmationGate
    from .chat.service import ChatService
    from .code_mode import AutoRule, CodeModeService
    from .config import GatewayConfig
    from .credentials.service import CredentialService
    from .governance import Governance
    from .listing import ListingCache
    from .observability.observer import Observer
    from .observability.operations import Operations
    from .pipeline import Pipeline
    from .servers.manager import UpstreamManager
    from .servers.store import ServerStore
    from .state import RequestState
    from .upstreams import Upstream

AsgiApp = Callable[["Scope", Any, Any], Awaitable[None]]


class UpstreamNews(Protocol):
    """Where the upstream manager sends what an upstream announces (the router: it tells the MCP clients)."""

    def on_list_changed(self, server: str, kind: str) -> None: ...

    def on_resource_updated(self, server: str, uri: str) -> None: ...

    def on_log_message(self, server: str, params: types.LoggingMessageNotificationParams) -> None: ...

    def on_elicitation_complete(self, server: str, elicitation_id: str) -> None: ...


class GatewayHost(Protocol):
    """The gateway as the modules it composes see it (`mcp_guard.gateway.Gateway` is the one implementation)."""

    config: GatewayConfig
    config_path: Path | None
    catalog: Catalog
    listings: ListingCache
    credentials: CredentialService
    upstreams: dict[str, Upstream]
    code_only_servers: frozenset[str]
    confirmations: ConfirmationGate
    observer: Observer
    pipeline: Pipeline
    governance: Governance
    code_mode_service: CodeModeService
    operations: Operations
    upstream_manager: UpstreamManager

    @property
    def running(self) -> bool: ...

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
