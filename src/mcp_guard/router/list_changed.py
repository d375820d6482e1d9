"""Telling MCP clients that the gateway's tool list changed (a server added, removed, disabled or
reloaded; an upstream's own list changed), or that an upstream announced a change of its resources or
prompts: 2026-07-28 clients on their `subscriptions/listen` stream, handshake-era sessions with
`notifications/<kind>/list_changed` (for the sessions that listed that kind). Changes are gathered for
`DEBOUNCE` seconds, so a reload that changes ten servers sends one notice.

Resource updates (`notifications/resources/updated`) go the same ways to the clients subscribed to that
resource (`subscriptions.py` decides who may subscribe): handshake-era sessions that subscribed, 2026-07-28
listen streams whose subscription names the URI.

A notice names the servers whose list changed, and reaches only the clients whose key and filter headers
could let them see something of that kind there (`ToolAccess.may_see_any`), so a key does not learn that a
server it cannot see changed. A change that may touch any server (a reloaded configuration) reaches all.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import MCPError
from mcp.server import NotificationOptions, Server
from mcp.server.context import ServerRequestContext
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import (
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp_types import INTERNAL_ERROR, SubscriptionsListenRequestParams, SubscriptionsListenResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..names import gateway_uri, local_uri
from ..state import RequestState, ToolAccess
from .virtual import unprefixed_server

logger = logging.getLogger(__name__)
DEBOUNCE = 0.05
SEND_TIMEOUT = 1.0
MAX_STREAMS = 1024  # concurrent 2026-07-28 listen streams (the SDK's own default bound)
KINDS = ("tools", "resources", "prompts")
EVENTS: dict[str, ServerEvent] = {
    "tools": ToolsListChanged(),
    "resources": ResourcesListChanged(),
    "prompts": PromptsListChanged(),
}
_ITEM = {"tools": "tool", "resources": "resource", "prompts": "prompt"}
Rules = tuple[ToolAccess, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    """One list that changed, and on which servers (None: anywhere, tell everyone)."""

    kind: str
    servers: frozenset[str] | None
    uri: str | None = None  # a resource update: the gateway URI of the resource

    def shown_to(self, rules: Rules) -> bool:
        if self.servers is None:
            return True
        item = _ITEM[self.kind]
        return any(all(rule.may_see_any(item, server) for rule in rules) for server in self.servers)


class ListChangedNotifier:
    def __init__(self) -> None:
        self._listeners: set[Callable[[Notice], None]] = set()  # one per open 2026-07-28 listen stream
        self._streams: set[ListenHandler] = set()
        # handshake-era connections by the kind they listed, with the access rules of their request; alive as
        # long as their session
        self._sessions: dict[str, weakref.WeakKeyDictionary[Any, Rules]] = {
            kind: weakref.WeakKeyDictionary() for kind in KINDS
        }
        self._changed: dict[str, set[str] | None] = {}
        self._updated: set[str] = set()  # gateway URIs of updated resources, not yet told
        # gateway URI → handshake-era connections subscribed to it → the URI each is told (its endpoint's)
        self._subscribers: dict[str, weakref.WeakKeyDictionary[Any, str]] = {}
        self._wake: anyio.Event | None = None

    def remember(self, ctx: ServerRequestContext[Any], kind: str = "tools") -> None:
        """A handshake-era session listed `kind`: tell it when that list changes. `ctx.session` lives for one
        request; the connection it rides on lives as long as the session, and its standalone channel (the
        client's GET stream) is where unprompted notifications go. The SDK offers no public handle to it
        outside a request, hence the private attribute."""
        connection = getattr(ctx.session, "_connection", None)
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and connection is not None:
            self._sessions[kind][connection] = _rules(ctx)

    def changed(self, kind: str = "tools", server: str | None = None) -> None:
        """`server`'s `kind` list changed (None: maybe any server's): the catalog says so for tools, an
        upstream's announcement for resources and prompts (called synchronously)."""
        pending = self._changed.get(kind, set())
        self._changed[kind] = None if server is None or pending is None else {*pending, server}
        if self._wake is not None:
            self._wake.set()

    def subscribe(self, ctx: ServerRequestContext[Any], uri: str, on: bool = True) -> None:
        """A handshake-era session (un)subscribed to the resource at gateway URI `uri`."""
        connection = getattr(ctx.session, "_connection", None)
        if connection is None:
            return
        if on:
            server = unprefixed_server(_rules(ctx))  # a single-upstream virtual server shows its own URIs
            shown = local_uri(server, uri) if server is not None else uri
            self._subscribers.setdefault(uri, weakref.WeakKeyDictionary())[connection] = shown
        elif uri in self._subscribers:
            self._subscribers[uri].pop(connection, None)

    def updated(self, server: str, uri: str) -> None:
        """Upstream `server` says its resource `uri` was updated (called synchronously)."""
        self._updated.add(gateway_uri(server, uri))
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Send the notices while the gateway runs."""
        while True:
            self._wake = anyio.Event()
            if not self._changed and not self._updated:
                await self._wake.wait()
            await anyio.sleep(DEBOUNCE)
            changed, self._changed = self._changed, {}
            updated, self._updated = self._updated, set()
            for kind in KINDS:
                if kind in changed:
                    servers = changed[kind]
                    await self._tell(Notice(kind, frozenset(servers) if servers is not None else None))
            for uri in sorted(updated):
                await self._tell_updated(uri)

    async def _tell_updated(self, uri: str) -> None:
        for listener in list(self._listeners):
            listener(Notice("updated", None, uri))
        told: dict[str, list[Any]] = {}
        for connection, shown in list(self._subscribers.get(uri, {}).items()):
            told.setdefault(shown, []).append(connection)
        for shown, connections in told.items():
            await self._notify(connections, "notifications/resources/updated", {"uri": shown})

    async def _tell(self, notice: Notice) -> None:
        for listener in list(self._listeners):
            listener(notice)
        sessions = self._sessions[notice.kind]
        told = [connection for connection, rules in list(sessions.items()) if notice.shown_to(rules)]
        for gone in await self._notify(told, f"notifications/{notice.kind}/list_changed", None):
            sessions.pop(gone, None)

    @staticmethod
    async def _notify(connections: Iterable[Any], method: str, params: dict[str, Any] | None) -> list[Any]:
        """Send one notification to each connection; the ones that have gone."""
        gone = []
        for connection in list(connections):
            with anyio.move_on_after(SEND_TIMEOUT):  # a client that stopped reading must not hold the others
                try:
                    await connection.outbound.notify(method, params)
                except Exception:  # noqa: BLE001 - a session that has gone cannot be told; forget it
                    gone.append(connection)
        return gone

    async def listen(
        self, ctx: ServerRequestContext[Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        """The MCP server's `subscriptions/listen` handler: the SDK's, over the notices this caller may see."""
        if len(self._streams) >= MAX_STREAMS:
            raise MCPError(INTERNAL_ERROR, "Subscription limit reached")
        rules = _rules(ctx)
        server = unprefixed_server(rules)  # a single-upstream virtual server: its acknowledgment and events
        if server is not None:  # name resources as the upstream does, like the rest of that endpoint
            shown = [local_uri(server, uri) for uri in params.notifications.resource_subscriptions or ()]
            narrowed = params.notifications.model_copy(update={"resource_subscriptions": shown or None})
            params = params.model_copy(update={"notifications": narrowed})
        stream = ListenHandler(_SeenBy(self._listeners, rules, server), max_subscriptions=1)
        self._streams.add(stream)
        try:
            return await stream(ctx, params)
        finally:
            self._streams.discard(stream)

    def close(self) -> None:
        for stream in list(self._streams):
            stream.close()


class _SeenBy:
    """The notices as one listen stream sees them (the SDK's `SubscriptionBus`, subscribe side only)."""

    def __init__(self, listeners: set[Callable[[Notice], None]], rules: Rules, server: str | None) -> None:
        self._listeners = listeners
        self._rules = rules
        self._server = server  # the upstream whose own URIs the stream is shown (see `listen`)

    async def publish(self, event: ServerEvent) -> None:
        raise NotImplementedError("the gateway publishes notices itself")

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        rules, server = self._rules, self._server

        def deliver(notice: Notice) -> None:
            if notice.uri is not None:  # the listen handler passes it on if the stream subscribed to it
                listener(ResourceUpdated(uri=notice.uri if server is None else local_uri(server, notice.uri)))
            elif notice.shown_to(rules):
                listener(EVENTS[notice.kind])

        self._listeners.add(deliver)
        return lambda: self._listeners.discard(deliver)


def _rules(ctx: ServerRequestContext[Any]) -> Rules:
    request = ctx.request
    return tuple(RequestState.from_scope(request.scope).access) if request is not None else ()


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
