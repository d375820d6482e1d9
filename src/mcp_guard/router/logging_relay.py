"""Log messages of the upstreams (`notifications/message`), relayed to handshake-era sessions that asked
for them with `logging/setLevel`.

Each session has its own level (set with `logging/setLevel`, kept as long as the session); a session
that never set one is sent nothing. A message reaches a session only when its level is at least the
session's and the session's key and filter headers could let it see something of the server
(`ToolAccess.may_see_any`), so a key does not read the logs of a server it cannot see. The message's
`logger` names the server it came from (`server` or `server/logger`). The gateway holds one connection per
upstream, so a message belongs to the server, not to one call: whoever may see the server reads it.

2026-07-28 retired `logging/setLevel` for a per-request `_meta` level; requests of that era are not
relayed log messages (see docs/governance.md).
"""

from __future__ import annotations

import weakref
from typing import Any

import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..state import RequestState, ToolAccess
from .aggregate import Context
from .inbox import Inbox, notify

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


class LogRelay:
    def __init__(self) -> None:
        # handshake-era connection → (its level's rank, the access rules of the request that set it)
        self._sessions: weakref.WeakKeyDictionary[Any, tuple[int, tuple[ToolAccess, ...]]] = weakref.WeakKeyDictionary()
        self._inbox = Inbox[types.LoggingMessageNotificationParams](QUEUE, self.relay)

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
        request = ctx.request
        rules = tuple(RequestState.from_scope(request.scope).access) if request is not None else ()
        self._sessions[connection] = (_RANK[level], rules)

    def post(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        """Upstream `server` logged `params` (called synchronously, from its connection's reader): queued,
        or dropped when the queue is full, so a slow client never holds an upstream."""
        if self._sessions:
            self._inbox.post(server, params)

    async def run(self) -> None:
        """Relay the queued messages while the gateway runs."""
        await self._inbox.run()

    async def relay(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        """Send `server`'s log message to every session that wants it and may see the server."""
        rank = _RANK.get(params.level, 0)
        shown = params.model_copy(update={"logger": f"{server}/{params.logger}" if params.logger else server})
        wire = shown.model_dump(by_alias=True, exclude_none=True, mode="json")
        for connection, (wanted, rules) in list(self._sessions.items()):
            if rank < wanted or not _may_see(rules, server):
                continue
            if not await notify(connection, "notifications/message", wire):
                self._sessions.pop(connection, None)  # gone (or not reading): forget it


def _may_see(rules: tuple[ToolAccess, ...], server: str) -> bool:
    """Whether the key and filter headers could let the session see a tool, resource or prompt of `server`."""
    return any(all(rule.may_see_any(item, server) for rule in rules) for item in ("tool", "resource", "prompt"))
