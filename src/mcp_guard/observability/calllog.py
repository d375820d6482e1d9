"""One structured log line per tool call (logger `mcp_guard.calls`) and one per HTTP request that made no
tool call (`mcp_guard.requests`: listings, admin routes, refusals at the door), at INFO.

The fields name the key and the user, never a secret, and never the call's arguments. The line is only
built when the logger is enabled for INFO, so `--log-level warning` costs nothing per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import GatewayError
    from ..state import RequestState
    from ..tool_call import ToolCall

calls_logger = logging.getLogger("mcp_guard.calls")
requests_logger = logging.getLogger("mcp_guard.requests")

TraceId = Callable[[], str | None]


def _no_trace() -> str | None:
    return None


class CallLog:
    """Writes the per-call and per-request lines; `trace_id` reads the current trace (None when off)."""

    def __init__(self, trace_id: TraceId = _no_trace) -> None:
        self.trace_id = trace_id

    def call(self, call: ToolCall, outcome: str, error: GatewayError | None, duration_ms: float) -> None:
        if not calls_logger.isEnabledFor(logging.INFO):
            return
        state, principal = call.state, call.state.principal
        server, tool = call.target()
        fields: dict[str, Any] = {
            "request_id": state.request_id,
            "trace_id": self.trace_id(),
            "call_id": call.id,
            "parent_id": call.parent_id,
            "key": principal.key_name if principal else None,
            "user": state.user,
            "team": principal.team if principal else None,
            "server": server or None,
            "tool": tool,
            "entry": call.entry_point,
            "outcome": outcome,
            "status": error.status if error is not None else 200,
            "reason": error.reason if error is not None else None,
            "duration_ms": round(duration_ms, 3),
            "cost": call.cost,
        }
        calls_logger.info("call %s %s", f"{server}/{tool}" if server else tool, outcome, extra={"fields": fields})

    def request(self, scope: Any, state: RequestState, status: int, duration_ms: float) -> None:
        if not requests_logger.isEnabledFor(logging.INFO):
            return
        principal, refusal = state.principal, state.refusal
        fields: dict[str, Any] = {
            "request_id": state.request_id,
            "trace_id": self.trace_id(),
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "reason": refusal.reason if refusal is not None else None,
            "key": principal.key_name if principal else None,
            "user": state.user,
            "duration_ms": round(duration_ms, 3),
        }
        requests_logger.info(
            "request %s %s %d", scope.get("method"), scope.get("path"), status, extra={"fields": fields}
        )
