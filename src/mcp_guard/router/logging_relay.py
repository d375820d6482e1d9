"""Log messages of the upstreams (`notifications/message`), relayed to the clients that asked for them.

- Handshake era: each session has its own level (set with `logging/setLevel`, kept as long as the
  session); a session that never set one is sent nothing. Messages go on its standalone stream.
- 2026-07-28 retired `logging/setLevel`: a client asks for log messages per request, with a level in the
  request's `_meta` (`io.modelcontextprotocol/logLevel`), and gets them on that request's own stream while
  it runs; a request without one is sent none. The gateway serves this for `tools/call` (the one request
  it may answer with an event stream): the messages of the called tool's server, at that level or above,
  received while the call runs; and it asks a 2026-07-28 upstream for them at the same level
  (`log_level.py`), since such an upstream logs nothing unasked.

Either way a message reaches a client only when its key and filter headers could let it see something of
the server (`ToolAccess.may_see_any`), so a key does not read the logs of a server it cannot see. The
message's `logger` names the server it came from (`server` or `server/logger`).

A log message belongs to an upstream connection, not to a call. The gateway holds one connection per
upstream (a handshake-era upstream logs on its connection's stream, tied to no request), so "received
while the call runs" is the nearest a gateway can come to "logged for this call": a message that the
server wrote for another caller's concurrent call reaches this request too, when it may see the server,
and whoever may see a server reads its messages.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp_types import LOG_LEVEL_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..log_level import wanting_logs
from ..state import RequestState, ToolAccess
from .aggregate import Context
from .inbox import SEND_TIMEOUT, Inbox, notify

QUEUE = 256  # messages waiting to be relayed; more are dropped
# RFC 5424 severities, as MCP orders them
LEVELS: tuple[types.LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
_RANK = {level: rank for rank, level in enumerate(LEVELS)}


class _Request:
    """A 2026-07-28 request that asked for the log messages of `server`, while it runs: the messages meant
    for it wait in `pending` until the relay's task, or the request as it ends, sends them on its stream."""

    def __init__(self, ctx: Context, rank: int, server: str) -> None:
        self.ctx, self.rank, self.server = ctx, rank, server
        self.rules = _rules(ctx)
        self.pending: deque[types.LoggingMessageNotificationParams] = deque(maxlen=QUEUE)  # oldest dropped
        self._sending = anyio.Lock()

    def wants(self, server: str, rank: int) -> bool:
        return server == self.server and rank >= self.rank and _may_see(self.rules, server)

    async def send(self) -> None:
        async with self._sending:  # one sender at a time keeps the messages in order
            while self.pending:
                notification = types.LoggingMessageNotification(params=self.pending.popleft())
                with anyio.move_on_after(SEND_TIMEOUT):
                    try:
                        await self.ctx.session.send_notification(notification, related_request_id=self.ctx.request_id)
                    except Exception:  # noqa: BLE001 - the client went away: nobody left to tell
                        self.pending.clear()


class LogRelay:
    def __init__(self) -> None:
        # handshake-era connection → (its level's rank, the access rules of the request that set it)
        self._sessions: weakref.WeakKeyDictionary[Any, tuple[int, tuple[ToolAccess, ...]]] = weakref.WeakKeyDictionary()
        self._requests: set[_Request] = set()  # 2026-07-28 requests that asked for log messages, running
        self._inbox = Inbox[types.LoggingMessageNotificationParams](QUEUE, self._deliver)

    def handlers(self) -> dict[str, Any]:
        """The low-level server's handler for `logging/setLevel` (an `mcp.server.Server` keyword argument)."""

        async def set_level(ctx: Context, params: types.SetLevelRequestParams) -> types.EmptyResult:
            self.set_level(ctx, params.level)
            return types.EmptyResult()

        return {"on_set_logging_level": set_level}

    def set_level(self, ctx: Context, level: types.LoggingLevel) -> None:
        connection = getattr(ctx.session, "_connection", None)  # lives as long as the session (as list_changed)
        if connection is None or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        self._sessions[connection] = (_RANK[level], _rules(ctx))

    @asynccontextmanager
    async def during(self, ctx: Context, server: str | None) -> AsyncIterator[None]:
        """Around a 2026-07-28 `tools/call` of a tool of `server`: if its `_meta` asks for a log level, the
        server's messages at that level or above go on the request's stream while it runs (and the upstream
        is asked for them); the last ones are sent before the block ends, so before the result."""
        level = requested_level(ctx)
        if level is None or server is None or ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            yield
            return
        request = _Request(ctx, _RANK[level], server)
        self._requests.add(request)
        try:
            with wanting_logs(level):
                yield
        finally:
            self._requests.discard(request)
            with anyio.CancelScope(shield=True), anyio.move_on_after(SEND_TIMEOUT):
                await request.send()

    def post(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        """Upstream `server` logged `params` (called synchronously, from its connection's reader): queued,
        or dropped when the queue is full, so a slow client never holds an upstream. A running request that
        wants it gets it in its own queue at once, so it is sent before that request's result."""
        rank = _RANK.get(params.level, 0)
        wanting = [request for request in self._requests if request.wants(server, rank)]
        if wanting:
            shown = _shown(server, params)
            for request in wanting:
                request.pending.append(shown)
        if self._sessions or wanting:
            self._inbox.post(server, params)

    async def run(self) -> None:
        """Relay the queued messages while the gateway runs."""
        await self._inbox.run()

    async def _deliver(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        await self.relay(server, params)
        for request in [r for r in self._requests if r.pending]:
            await request.send()

    async def relay(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        """Send `server`'s log message to every session that wants it and may see the server."""
        rank = _RANK.get(params.level, 0)
        wire = _shown(server, params).model_dump(by_alias=True, exclude_none=True, mode="json")
        for connection, (wanted, rules) in list(self._sessions.items()):
            if rank < wanted or not _may_see(rules, server):
                continue
            if not await notify(connection, "notifications/message", wire):
                self._sessions.pop(connection, None)  # gone (or not reading): forget it


def requested_level(ctx: Context) -> types.LoggingLevel | None:
    """The log level a 2026-07-28 request's `_meta` asks for; None when it asks for no log messages."""
    level = (ctx.meta or {}).get(LOG_LEVEL_META_KEY)
    return level if level in _RANK else None


def _shown(server: str, params: types.LoggingMessageNotificationParams) -> types.LoggingMessageNotificationParams:
    """The message as clients see it: its `logger` names the server."""
    return params.model_copy(update={"logger": f"{server}/{params.logger}" if params.logger else server})


def _rules(ctx: Context) -> tuple[ToolAccess, ...]:
    request = ctx.request
    return tuple(RequestState.from_scope(request.scope).access) if request is not None else ()


def _may_see(rules: tuple[ToolAccess, ...], server: str) -> bool:
    """Whether the key and filter headers could let the session see a tool, resource or prompt of `server`."""
    return any(all(rule.may_see_any(item, server) for rule in rules) for item in ("tool", "resource", "prompt"))
