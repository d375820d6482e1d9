"""The gateway's side of a program's inner calls: checks, the caller's `ToolCaller`, and the call summary.

Every `call` frame a worker sends is answered here, in the gateway, by `CallBridge.answer`:

1. the per-run byte limits: one call's arguments (`max_tool_argument_bytes`) and everything the run has
   moved so far (`max_tool_transfer_bytes`); over either, the program gets a catchable ToolError 'limit';
2. the tool must be one the program was offered (the caller's visible set) or one of the gateway's own
   operations (`GATEWAY_OPERATIONS`: resources and prompts, which the pipeline governs per item), then the
   arguments must be JSON;
3. the caller's `ToolCaller` runs the call through the gateway's pipeline;
4. the result must be JSON and fit `max_tool_result_bytes` before it is handed to the program.

Nothing here trusts the worker: whatever a broken or compromised worker sends, it only gets answers for
tools the caller may call, within the caller's limits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .calls import GATEWAY_OPERATIONS, GATEWAY_SERVER, CallRecord, ToolCaller, ToolCallError, ToolOutcome
from .settings import CodeModeSettings

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Call:
    server: str
    tool: str
    started: float
    ok: bool = False
    finished: float | None = None
    error: str | None = "cancelled: the execution ended before the call finished"


@dataclass(frozen=True, slots=True)
class Answer:
    """What goes back to the worker: the answer's JSON, or a refusal that stops the whole run."""

    payload: bytes = b""
    fatal: dict[str, str] | None = None


class CallBridge:
    """Answers one execution's inner calls and records them, in the order the program made them."""

    def __init__(self, call_tool: ToolCaller, servers: Mapping[str, Collection[str]], settings: CodeModeSettings):
        self.call_tool = call_tool
        self.servers = servers
        self.settings = settings
        self.calls: list[_Call] = []
        self.transferred = 0  # bytes of arguments and results so far

    async def answer(self, server: str, tool: str, arguments: bytes) -> Answer:
        call = _Call(server, tool, time.perf_counter())
        self.calls.append(call)
        try:
            return await self._answer(call, arguments)
        finally:
            call.finished = time.perf_counter()

    async def _answer(self, call: _Call, arguments: bytes) -> Answer:
        try:
            self._count(len(arguments), "arguments")
            parsed = self._arguments(call, arguments)
            outcome = await self.call_tool(call.server, call.tool, parsed)
        except ToolCallError as exc:
            call.error = f"{exc.kind}: {exc.message}"
            if exc.fatal:
                return Answer(fatal={"kind": exc.kind, "message": f"{call.server}/{call.tool}: {exc.message}"})
            return _failure(exc.kind, exc.message, exc.limit)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Code Mode call to %s/%s failed inside the gateway", call.server, call.tool)
            call.error = "upstream: internal gateway error"
            return _failure("upstream", "internal gateway error")
        return self._result(call, outcome)

    def _arguments(self, call: _Call, arguments: bytes) -> dict[str, Any]:
        limit = self.settings.max_tool_argument_bytes
        if len(arguments) > limit:
            message = f"the arguments are {len(arguments)} bytes of JSON, over the {limit}-byte limit"
            raise ToolCallError(
                "limit", f"{message} (code_mode.max_tool_argument_bytes)", limit="max_tool_argument_bytes"
            )
        offered = GATEWAY_OPERATIONS if call.server == GATEWAY_SERVER else self.servers.get(call.server, ())
        if call.tool not in offered:  # the sandbox only offers visible tools and the gateway's operations
            raise ToolCallError("denied", f"unknown tool {call.server + '/' + call.tool!r}")
        try:
            parsed = json.loads(arguments)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise ToolCallError("denied", "the arguments are not a JSON object (or are nested too deeply)")
        return parsed

    def _result(self, call: _Call, outcome: ToolOutcome) -> Answer:
        if outcome.error is not None:
            call.error = f"upstream: {outcome.error}"
            return _failure("upstream", outcome.error)
        limit = self.settings.max_tool_result_bytes
        if outcome.size_hint > limit:
            call.error = f"limit: result of at least {outcome.size_hint} bytes"
            return _failure("limit", _too_large(outcome.size_hint, limit), "max_tool_result_bytes")
        try:
            value = json.dumps(outcome.value, allow_nan=False).encode("ascii")
        except (TypeError, ValueError, RecursionError):
            call.error = "upstream: the tool's result is not JSON"
            return _failure("upstream", "the tool's result could not be converted to JSON")
        if len(value) > limit:
            call.error = f"limit: result of {len(value)} bytes"
            return _failure("limit", _too_large(len(value), limit), "max_tool_result_bytes")
        try:
            self._count(len(value), "result")
        except ToolCallError as exc:
            call.error = f"limit: {exc.message}"
            return _failure("limit", exc.message, exc.limit)
        call.ok, call.error = True, None
        return Answer(b'{"ok":true,"value":' + value + b"}")

    def _count(self, size: int, what: str) -> None:
        limit = self.settings.max_tool_transfer_bytes
        if self.transferred + size > limit:
            raise ToolCallError(
                "limit",
                f"this call's {what} ({size} bytes) would take the execution's tool traffic over "
                f"{limit} bytes (code_mode.max_tool_transfer_bytes)",
                limit="max_tool_transfer_bytes",
            )
        self.transferred += size

    def records(self) -> tuple[CallRecord, ...]:
        now = time.perf_counter()
        return tuple(
            CallRecord(c.server, c.tool, c.ok, ((c.finished or now) - c.started) * 1000.0, c.error) for c in self.calls
        )


def _too_large(size: int, limit: int) -> str:
    return (
        f"the tool's result is {size} bytes of JSON, over the {limit}-byte limit for results handed to a program "
        "(code_mode.max_tool_result_bytes): ask the tool for less (a filter, a page, fewer fields)"
    )


def _failure(kind: str, message: str, limit: str | None = None) -> Answer:
    error = {"kind": kind, "message": message, **({"limit": limit} if limit else {})}
    return Answer(json.dumps({"ok": False, "error": error}).encode("ascii"))
