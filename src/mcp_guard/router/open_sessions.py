"""Handshake-era sessions as the fast path (`session_call.py`) sees them. The SDK keeps a session's state
inside the session's own task (its `Connection`: negotiated version, client capabilities, whether
`initialize` succeeded) and its transport's counters; this module is the one place that reads them, and
names the SDK internals it touches (mcp 2.3): `ServerSession._connection`, the transport's
`_requests_in_flight`, `_idle_timeout` and `_request_streams`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.streamable_http import GET_STREAM_KEY
from mcp.shared.exceptions import NoBackChannelError
from mcp_types import RequestId

from ..asgi import Scope

if TYPE_CHECKING:
    from mcp.server.connection import Connection
    from mcp.server.streamable_http import StreamableHTTPServerTransport

_SETTLE_TURNS = 3  # event-loop turns a message takes between two of the SDK's memory streams, with margin
_MAX_TURNS = 200


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session this process holds, as the fast path needs it."""

    session_id: str
    transport: StreamableHTTPServerTransport
    connection: Connection


class SessionBook:
    """The SDK connection of each session (negotiated version, client capabilities, whether `initialize`
    succeeded), which the SDK keeps inside the session's task: noted by a server middleware as the session's
    `initialize` runs, forgotten when the session ends."""

    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            connection = getattr(ctx.session, "_connection", None)  # as `progress.py` reads it
            if connection is not None and connection.session_id is not None:
                self.connections[connection.session_id] = connection
        return await call_next(ctx)

    def forget(self, session_id: str) -> None:
        self.connections.pop(session_id, None)


class CallContext:
    """What the relays (`client_requests.py`) and progress (`progress.py`) read of the SDK's request
    context, for a call on this path: its session (with no channel of its own, as in the SDK's JSON-response
    mode, so progress and questions go on the session's stream), id, version, params, `_meta` and HTTP scope."""

    __slots__ = ("meta", "params", "protocol_version", "request", "request_id", "session")

    def __init__(self, scope: Scope, connection: Connection, request_id: RequestId, params: dict[str, Any]) -> None:
        self.session = ServerSession(_NoBackChannel(request_id), connection)  # type: ignore[arg-type]
        self.request, self.request_id, self.params = _Carrier(scope), request_id, params
        self.meta: dict[str, Any] | None = params.get("_meta")  # as the SDK lifts it (a mapping, or None)
        self.protocol_version = connection.protocol_version


class _Carrier:
    """The HTTP request a message arrived in, as far as `aggregate.state_of` reads it."""

    __slots__ = ("scope",)

    def __init__(self, scope: Scope) -> None:
        self.scope = scope


class _NoBackChannel:
    """A request's own channel in the SDK's JSON-response mode: it carries nothing back to the client (a
    request raises `NoBackChannelError`; a notification is dropped, as the SDK's transport drops it)."""

    can_send_request = False
    message_metadata = None

    def __init__(self, request_id: RequestId) -> None:
        self.request_id = request_id
        self.cancel_requested = anyio.Event()

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


async def progress_sent(transport: StreamableHTTPServerTransport) -> None:
    """Let the session's stream send the progress the call relayed before the call's answer goes: a client
    drops progress that arrives after its answer. On the SDK's path both pass the session's one message
    router, progress first; here the answer waits until the session's stream has taken all it was given
    (a few turns of the event loop; bounded, so a client that stops reading its stream still gets answers)."""
    for _ in range(_SETTLE_TURNS):
        await anyio.sleep(0)  # the router hands the last notification to the stream's queue
    queue = transport._request_streams.get(GET_STREAM_KEY)
    for _ in range(_MAX_TURNS):
        if queue is None or not queue[0].statistics().current_buffer_used:
            break
        await anyio.sleep(0)
    for _ in range(_SETTLE_TURNS):
        await anyio.sleep(0)  # the stream's writer sends what it took


@contextmanager
def in_flight(transport: StreamableHTTPServerTransport) -> Iterator[None]:
    """Hold the session open while the call runs, as the transport does for a request it serves (its idle
    countdown is suspended, and restarts when the last request ends). Touches the transport's counters
    (mcp 2.3: `_requests_in_flight`, `_idle_timeout`)."""
    idle, timeout = transport.idle_scope, transport._idle_timeout
    if idle is None or timeout is None:
        yield
        return
    transport._requests_in_flight += 1
    idle.deadline = math.inf
    try:
        yield
    finally:
        transport._requests_in_flight -= 1
        if not transport._requests_in_flight:
            idle.deadline = anyio.current_time() + timeout
