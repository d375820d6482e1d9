"""What both direct paths (`direct_http.py`, `direct_stdio.py`) do with the message answering a `tools/call`:
exactly what the SDK session's `send_request` and `call_tool` do with it, by the session's own parts."""

from __future__ import annotations

import functools
from typing import Any

import mcp_types as types
from mcp import MCPError
from mcp.client.session import ClientSession, _CallToolResultAdapter, _later_revision_fields
from mcp_types import INTERNAL_ERROR
from pydantic import TypeAdapter, ValidationError

from ..relay import Unanswerable, current_relay

_HANDSHAKE_DEFAULT = "2025-11-25"  # the session's own fallback before negotiation
_PLAIN: TypeAdapter[types.CallToolResult] = TypeAdapter(types.CallToolResult)
_INPUT = frozenset({"inputRequests", "requestState"})  # the wire names of `InputRequiredResult`'s own fields


async def call_tool_result(session: ClientSession, tool: str, message: dict[str, Any]) -> types.CallToolResult:
    """The `CallToolResult` in `message` (a JSON-RPC response), or the `MCPError` the SDK client raises."""
    result = await call_tool_outcome(session, tool, message)
    if not isinstance(result, types.CallToolResult):
        raise MCPError(code=INTERNAL_ERROR, message=_unanswered(result))
    return result


async def call_tool_outcome(
    session: ClientSession, tool: str, message: dict[str, Any]
) -> types.CallToolResult | types.InputRequiredResult:
    """What `ClientSession.call_tool(..., allow_input_required=True)` returns for `message`: the result, or
    the upstream's questions (`InputRequiredResult`); the `MCPError` the SDK client raises otherwise."""
    error = message.get("error")
    if isinstance(error, dict):
        code, text = int(error.get("code", INTERNAL_ERROR)), str(error.get("message", ""))
        raise MCPError(code=code, message=text, data=error.get("data"))
    raw = message.get("result")
    if not isinstance(raw, dict):
        raise MCPError(code=INTERNAL_ERROR, message="a response without a JSON-RPC result")
    ttl = raw.get("ttlMs")
    if isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl < 0:
        raw["ttlMs"] = 0  # as the SDK client does: a negative cache hint must not fail the call
    foreign = _later_fields(session._negotiated_version or _HANDSHAKE_DEFAULT)
    if not foreign.isdisjoint(raw):  # a later revision's fields on an older session: dropped, as the SDK does
        raw = {key: value for key, value in raw.items() if key not in foreign}
    result = _validated(session, raw)
    if isinstance(result, types.CallToolResult):
        if not result.is_error:
            await session.validate_tool_result(tool, result)  # output schema, as `call_tool` checks it
        return result
    if isinstance(result, types.InputRequiredResult):
        return result
    raise MCPError(code=INTERNAL_ERROR, message=_unanswered(result))


def _validated(session: ClientSession, raw: dict[str, Any]) -> Any:
    """What the session's adapter makes of `raw`. A plain result (no field of `InputRequiredResult`, no other
    `resultType` than `complete`) that `CallToolResult` takes strictly is what the adapter's smart union picks
    too (its only strict success: `InputRequiredResult` needs `inputRequests` or `requestState`), for ~60 % of
    its cost; anything else, or a session whose adapter has extension arms, goes to the adapter itself."""
    adapter = session._call_tool_adapter
    if adapter is _CallToolResultAdapter and raw.get("resultType", "complete") == "complete" and _INPUT.isdisjoint(raw):
        try:
            return _PLAIN.validate_python(raw, strict=True, by_name=False)
        except ValidationError:
            pass  # lax input, or invalid: the union answers as it always did (its error included)
    return adapter.validate_python(raw, by_name=False)


def _unanswered(result: Any) -> str:
    """Why the upstream's questions go unanswered: a direct path takes only calls whose client cannot be asked."""
    relay = current_relay()
    if isinstance(relay, Unanswerable):  # a REST, Code Mode, ... call: the pipeline says so (`relay.py`)
        requests = getattr(result, "input_requests", None) or {}
        sampling = any(isinstance(r, types.CreateMessageRequest) for r in requests.values())
        return relay.refuse("sampling" if sampling else "elicitation").message
    asked = "the upstream asked for client input (elicitation or sampling)"
    return f"{asked}, but the calling client declared neither capability"


@functools.cache
def _later_fields(version: str) -> frozenset[str]:
    return _later_revision_fields("tools/call", version)
