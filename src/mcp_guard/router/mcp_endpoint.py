"""The MCP endpoint: a low-level `mcp` server whose handlers show the caller's visible tools and send every
call through the pipeline. The SDK's streamable-HTTP session manager serves both protocol eras:
2026-07-28 (stateless, `server/discover`) and the handshake era up to 2025-11-25 (sessions).

The other method families have a module each, dispatched from here: `resources.py` (resources and
templates), `prompts.py`, `completion.py`, `subscriptions.py` (resource subscriptions and 2026-07-28 listen
streams), `tasks.py` (task-augmented calls and `tasks/*`, handshake era). `ping` is the SDK's own
(handshake era; 2026-07-28 has none).

`McpEndpoint` is what the router serves at its mount point: the session manager, built and run by its
`running()` (the gateway's lifespan enters it through `GatewayRouter.running()`), and the `Backchannels`
the handlers tell clients things through.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server._streamable_http_modern import handle_modern_request
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..asgi import Scope, header
from ..chat.confirmations import CONFIRM_HEADER
from ..errors import GatewayError, UrlElicitationRequired
from ..listing import listing_for
from ..observability.mcp_spans import McpSpanMiddleware
from ..progress import reporting
from ..results import error_result
from ..state import SCOPE_KEY, RequestState
from .aggregate import rpc_error
from .aggregate import state_of as _state
from .backchannels import Backchannels
from .client_requests import CallResult
from .completion import completion_handlers
from .fast_call import FastToolCall, ToolCaller
from .open_sessions import OpenSession, SessionBook
from .portable_sessions import PortableSessions, requestor
from .progress import client_sink
from .prompts import prompt_handlers
from .resources import resource_handlers
from .session_call import RelayedCaller, SessionToolCall
from .subscriptions import subscription_handlers
from .tasks import TaskServer
from .virtual import UnprefixedNames, unprefixed_server

if TYPE_CHECKING:
    from ..host import GatewayHost

SERVER_NAME = "mcp-guard"


def tool_caller(gateway: GatewayHost) -> ToolCaller:
    """What a `tools/call` on the MCP endpoint does, whichever path parsed it (the SDK or the fast path)."""

    async def call(
        state: RequestState, name: str, arguments: dict[str, Any] | None, confirmation: str | None = None
    ) -> types.CallToolResult:
        try:
            return await gateway.call(state, name, arguments, entry_point="mcp", confirmation=confirmation)
        except UrlElicitationRequired as exc:  # a JSON-RPC error, not a tool's error result (MCP -32042)
            raise rpc_error(exc) from None
        except GatewayError as exc:
            return error_result(exc)

    return call


class McpEndpoint:
    """The MCP endpoint's ASGI app, live while `running()`: the SDK's session manager and the
    `Backchannels` its sessions are told things through."""

    def __init__(self, gateway: GatewayHost) -> None:
        self.gateway = gateway
        self.channels = Backchannels(gateway)
        self._session_manager: StreamableHTTPSessionManager | None = None

    @property
    def serving(self) -> bool:
        return self._session_manager is not None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve MCP and relay the back-channels while inside (the gateway's lifespan enters it, after the
        tracer is set up: the server's span middleware depends on it)."""
        manager = build_session_manager(self.gateway, self.channels)
        async with manager.run(), anyio.create_task_group() as channels:
            self._session_manager = manager
            channels.start_soon(self.channels.run)
            try:
                yield
            finally:
                channels.cancel_scope.cancel()
                self._session_manager = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        manager = self._session_manager
        if manager is None:
            raise RuntimeError("the gateway is not running: enter `gateway.lifespan()` in the host app's lifespan")
        await manager.handle_request(scope, receive, send)


def relayed_caller(gateway: GatewayHost, channels: Backchannels) -> RelayedCaller:
    """A `tools/call` with its request context: the upstream's progress (when the client sent a token),
    elicitation and sampling reach this client. The SDK's handler and the handshake-era fast path use it."""
    answer = tool_caller(gateway)

    async def call(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams, confirmation: str | None
    ) -> Any:
        # log messages too, for a 2026-07-28 call that asked for a level (`logging_relay.py`; none otherwise)
        entry = gateway.catalog.resolve(params.name)
        with reporting(client_sink(ctx)):
            async with channels.logs.during(ctx, entry.ref.server if entry is not None else None):
                return await channels.relays.serve(
                    ctx,
                    params,
                    lambda: answer(_state(ctx), params.name, params.arguments, confirmation),
                    f"tool:{params.name}",
                )

    return call


def build_mcp_server(gateway: GatewayHost, channels: Backchannels) -> Server[Any]:
    relayed = relayed_caller(gateway, channels)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        channels.list_changed.remember(ctx)
        return types.ListToolsResult(tools=listing_for(gateway, _state(ctx)).mcp_tools())

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> CallResult:
        confirmation = header(ctx.request.scope, CONFIRM_HEADER) if ctx.request is not None else None
        result: CallResult = await relayed(ctx, params, confirmation)
        return result

    def input_schema(name: str) -> Mapping[str, Any] | None:
        """Lets the SDK validate `Mcp-Param-*` headers without running `tools/list` per call."""
        entry = gateway.catalog.resolve(name)
        return entry.tool.input_schema if entry else None

    from ..version import __version__

    with warnings.catch_warnings():
        # Logging is deprecated in 2026-07-28 only; handshake-era clients still set levels (logging_relay.py),
        # so serving it is deliberate, not something an operator should be warned about at every start.
        warnings.filterwarnings("ignore", "The logging capability is deprecated", MCPDeprecationWarning)
        server = TaskServer(
            SERVER_NAME,
            version=__version__,
            instructions="Tools, resources and prompts from several MCP servers, governed by mcp-guard. Tool "
            "and prompt names are server__name; resource URIs are mcp-guard://server/<URI>.",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            get_tool_input_schema=input_schema,
            **resource_handlers(gateway, channels),
            **prompt_handlers(gateway, channels),
            **completion_handlers(gateway),
            **subscription_handlers(gateway, channels.list_changed),
            **channels.logs.handlers(),
        )
    # The gateway's own MCP span replaces the SDK's (or none at all while tracing is off: it costs ~µs)
    tracing = gateway.observer.tracing
    spans = [McpSpanMiddleware(tracing)] if tracing is not None else []
    tasks = channels.tasks
    tasks.install(server)
    server.middleware = [*spans, UnprefixedNames(gateway), tasks]
    return server


class GatewaySessionManager(PortableSessions):
    """The SDK's session manager with the fast paths for plain `tools/call` POSTs in front: 2026-07-28
    (`fast_call.py`) and on handshake-era sessions (`session_call.py`); every other request, and every
    refusal, is the SDK's.

    Requests are answered with one JSON body (`json_response`), except a 2026-07-28 `tools/call` whose
    client accepts an event stream: that one may stream (the SDK answers JSON all the same when the call
    ends without a notification), so the upstream's progress reaches the client and a client that closes
    the stream cancels the call (the SDK's JSON mode would notice neither). Under `serve --workers`,
    handshake-era sessions are portable between workers (`portable_sessions.py`)."""

    def __init__(self, gateway: GatewayHost, channels: Backchannels, security: TransportSecuritySettings) -> None:
        server = build_mcp_server(gateway, channels)
        self._book = SessionBook()
        server.middleware = [*server.middleware, self._book.middleware]
        super().__init__(
            app=server,
            json_response=True,  # one JSON body per request: cheaper than an SSE stream for request/response
            security_settings=security,
            max_request_body_size=gateway.config.max_body_bytes,
        )
        self._fast = FastToolCall(
            tool_caller(gateway), server, security, gateway.config.max_body_bytes, tracing=gateway.observer.tracing
        )
        self._in_session = SessionToolCall(
            tool_caller(gateway),
            relayed_caller(gateway, channels),
            self._open_session,
            security,
            gateway.config.max_body_bytes,
            tracing=gateway.observer.tracing,
        )
        self._streaming = RequestBodyLimitMiddleware(self._stream_call, gateway.config.max_body_bytes)

    async def handle_request(self, scope: Scope, receive: Any, send: Any) -> None:
        state = scope.get(SCOPE_KEY)
        if state is not None and state.access and unprefixed_server(state.access) is not None:
            await self._sdk(scope, receive, send)  # the upstream's own names: `UnprefixedNames`
            return
        await self._fast(scope, receive, send, self._by_session)

    async def _by_session(self, scope: Scope, receive: Any, send: Any) -> None:
        await self._in_session(scope, receive, send, self._sdk)

    def _open_session(self, scope: Scope, session_id: str) -> OpenSession | None:
        """The session `session_id`, when this process holds it established for the credential of `scope`
        (the SDK's owner check), and it is not ending; else None (the SDK answers, or re-creates it)."""
        transport = self._server_instances.get(session_id)
        connection = self._book.connections.get(session_id)
        if transport is None or connection is None or transport.is_terminated:
            return None
        if not connection.initialize_accepted or requestor(scope.get("user")) != self._session_owners.get(session_id):
            return None
        idle = transport.idle_scope
        return None if idle is not None and idle.cancel_called else OpenSession(session_id, transport, connection)

    async def _discard_session(self, session_id: str, transport: Any) -> None:
        self._book.forget(session_id)
        await super()._discard_session(session_id, transport)

    async def _sdk(self, scope: Scope, receive: Any, send: Any) -> None:
        if _streamable_call(scope):
            await self._streaming(scope, receive, send)
        else:
            await super().handle_request(scope, receive, send)

    async def _stream_call(self, scope: Scope, receive: Any, send: Any) -> None:
        # The SDK's own 2026-07-28 entry (what its manager calls), in its event-stream mode
        await handle_modern_request(self.app, self.security_settings, False, self._lifespan_state, scope, receive, send)


def _streamable_call(scope: Scope) -> bool:
    """A 2026-07-28 `tools/call` POST whose client accepts an event stream."""
    version = header(scope, b"mcp-protocol-version")
    if scope.get("method") != "POST" or version not in MODERN_PROTOCOL_VERSIONS:
        return False
    return header(scope, b"mcp-method") == "tools/call" and "text/event-stream" in (header(scope, b"accept") or "")


def build_session_manager(gateway: GatewayHost, channels: Backchannels) -> StreamableHTTPSessionManager:
    config = gateway.config
    protect = config.allowed_hosts != ["*"]
    origins = [*config.allowed_origins, *(config.cors.allow_origins if config.cors else ())]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=protect,
        allowed_hosts=config.allowed_hosts if protect else [],
        allowed_origins=origins if protect else [],
    )
    return GatewaySessionManager(gateway, channels, security)


def build_mcp_app(manager: StreamableHTTPSessionManager) -> StreamableHTTPASGIApp:
    return StreamableHTTPASGIApp(manager)
