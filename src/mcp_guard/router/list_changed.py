"""Telling MCP clients that the gateway's tool list changed (a server added, removed, disabled or
reloaded; an upstream's own list changed), or that an upstream announced a change of its resources or
prompts: 2026-07-28 clients on their `subscriptions/listen` stream, handshake-era sessions with
`notifications/<kind>/list_changed` (for the sessions that listed that kind). Changes are gathered for
`DEBOUNCE` seconds, so a reload that changes ten servers sends one notice."""

from __future__ import annotations

import logging
import weakref
from typing import Any

import anyio
from mcp.server import NotificationOptions, Server
from mcp.server.context import ServerRequestContext
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ServerEvent,
    ToolsListChanged,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

logger = logging.getLogger(__name__)
DEBOUNCE = 0.05
SEND_TIMEOUT = 1.0
KINDS = ("tools", "resources", "prompts")
EVENTS: dict[str, ServerEvent] = {
    "tools": ToolsListChanged(),
    "resources": ResourcesListChanged(),
    "prompts": PromptsListChanged(),
}


class ListChangedNotifier:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)  # the MCP server's `subscriptions/listen` handler
        # handshake-era connections by the kind they listed, alive as long as their session
        self._sessions: dict[str, weakref.WeakSet[Any]] = {kind: weakref.WeakSet() for kind in KINDS}
        self._changed: set[str] = set()
        self._wake: anyio.Event | None = None

    def remember(self, ctx: ServerRequestContext[Any], kind: str = "tools") -> None:
        """A handshake-era session listed `kind`: tell it when that list changes. `ctx.session` lives for one
        request; the connection it rides on lives as long as the session, and its standalone channel (the
        client's GET stream) is where unprompted notifications go. The SDK offers no public handle to it
        outside a request, hence the private attribute."""
        connection = getattr(ctx.session, "_connection", None)
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and connection is not None:
            self._sessions[kind].add(connection)

    def changed(self, kind: str = "tools") -> None:
        """The catalog changed, or an upstream announced a change of its `kind` list (called synchronously)."""
        self._changed.add(kind)
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Send the notices while the gateway runs."""
        while True:
            self._wake = anyio.Event()
            if not self._changed:
                await self._wake.wait()
            await anyio.sleep(DEBOUNCE)
            changed, self._changed = self._changed, set()
            for kind in KINDS:
                if kind in changed:
                    await self._tell(kind)

    async def _tell(self, kind: str) -> None:
        await self.bus.publish(EVENTS[kind])
        sessions = self._sessions[kind]
        for connection in list(sessions):
            with anyio.move_on_after(SEND_TIMEOUT):  # a client that stopped reading must not hold the others
                try:
                    await connection.outbound.notify(f"notifications/{kind}/list_changed", None)
                except Exception:  # noqa: BLE001 - a session that has gone cannot be told; forget it
                    sessions.discard(connection)

    def close(self) -> None:
        self.listen.close()


class NotifyingServer(Server[Any]):
    """The low-level server, advertising `listChanged` of tools, resources and prompts to handshake-era
    clients too."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        options = notification_options or NotificationOptions(
            tools_changed=True, resources_changed=True, prompts_changed=True
        )
        return super().create_initialization_options(options, experimental_capabilities, extensions)
