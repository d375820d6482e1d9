"""Progress notifications of an upstream tool call, relayed to the client that made the call, on the
stream that client reads (`mcp_guard.progress` carries the sink from here to the upstream connection).

- 2026-07-28: on the call's own response stream, under the client's token (the SDK's request context
  does this; the call is served as an SSE stream when the client sent a token, see `mcp_endpoint.py`).
- Handshake era: the endpoint answers POSTs with one JSON body, which has no room for notifications, so
  progress goes on the session's standalone stream (the client's GET stream), under the client's token;
  the client matches progress to its request by that token, whichever stream carries it.

A client that is gone, or too slow to take a notification within `SEND_TIMEOUT`, loses that notification,
never the call.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..progress import ProgressSink
from .aggregate import Context

logger = logging.getLogger(__name__)
SEND_TIMEOUT = 1.0


def client_sink(ctx: Context) -> ProgressSink | None:
    """Where the progress of the call `ctx` carries goes; None when its client sent no progress token."""
    token = progress_token_from_params(ctx.params)
    if token is None:
        return None
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return _guarded(ctx.session.report_progress)
    connection = getattr(ctx.session, "_connection", None)  # the session's standalone channel (as list_changed)
    if connection is None:
        return None

    async def notify(progress: float, total: float | None, message: str | None) -> None:
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await connection.outbound.notify("notifications/progress", params)

    return _guarded(notify)


def _guarded(send: ProgressSink) -> ProgressSink:
    async def relay(progress: float, total: float | None, message: str | None) -> None:
        try:
            with anyio.fail_after(SEND_TIMEOUT):
                await send(progress, total, message)
        except Exception as exc:  # noqa: BLE001 - a lost notification must not fail the upstream call
            logger.debug("progress notification not delivered: %s", exc)

    return relay
