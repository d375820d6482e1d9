"""The contract between a Code Mode execution and the gateway: how one inner tool call is made and answered.

The gateway hands `execute` a `ToolCaller`, `async (server, tool, arguments) -> ToolOutcome`, which runs
the call through the full pipeline (visibility, roles, header filter, rate limit, budget, audit with
the execution as parent). Every call the program makes goes through it at the moment it is made.

- A result comes back as a `ToolOutcome` (`ToolOutcome.from_result` turns an MCP `CallToolResult` into
  one). The program's `await` resolves to `outcome.value`; an `is_error` result (`outcome.error` set)
  is thrown in the program as a `ToolError` with kind "upstream", like any other failure, so a program
  never mistakes an error text for data.
- A refusal or failure is raised as `ToolCallError` with kind "denied" (the caller may not make this
  call now: 4xx in `errors.py`) or "upstream" (the tool or its server failed: 5xx);
  `ToolCallError.from_gateway_error` does that mapping; the gateway's own per-run limits raise kind
  "limit" (with `limit` naming the setting). The program sees a `ToolError` with that kind
  and message and may catch it. With `fatal=True` the whole execution stops instead, uncatchably
  (agent mode's "needs approval" rule).
- Any other exception is a bug in the caller: it is logged, and the program sees only
  "internal gateway error"; no traceback, path or exception text crosses into the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types as types

from ..errors import GatewayError
from ..results import result_text

CallErrorKind = Literal["denied", "upstream", "limit"]

GATEWAY_SERVER = ""
"""The `server` of a program's calls to the gateway itself (the `resources` and `prompts` globals): no
configured server has an empty name. The `ToolCaller` gets them like tool calls, with the operation as
`tool` and its JSON object as `arguments`, and governs them through the pipeline like any other call."""
GATEWAY_OPERATIONS = frozenset(
    {"resources.list", "resources.templates", "resources.read", "prompts.list", "prompts.get"}
)


class ToolCallError(Exception):
    """A refused ("denied"), failed ("upstream") or over-limit ("limit") inner tool call."""

    def __init__(
        self,
        kind: CallErrorKind,
        message: str,
        *,
        fatal: bool = False,
        reason: str | None = None,
        limit: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: CallErrorKind = kind
        self.message = message
        self.fatal = fatal  # stop the execution rather than let the program catch it
        self.reason = reason  # the gateway's machine reason, for the call summary
        self.limit = limit  # kind "limit": the setting that was reached

    @classmethod
    def from_gateway_error(cls, error: GatewayError, *, fatal: bool = False) -> ToolCallError:
        """4xx refusals (not allowed, not found, rate limit, budget, bad arguments) are "denied"; 5xx "upstream"."""
        kind: CallErrorKind = "denied" if error.status < 500 else "upstream"
        return cls(kind, error.message, fatal=fatal, reason=error.reason)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What one inner call produced: a JSON-able `value`, or the tool's own error text in `error`.

    `size_hint` > 0 says the result is at least that many bytes and `value` was left out (see `from_result`)."""

    value: Any = None
    error: str | None = None
    size_hint: int = 0

    @classmethod
    def from_result(cls, result: types.CallToolResult, max_bytes: int | None = None) -> ToolOutcome:
        """Structured content if any; else the text, parsed when it is a JSON object or array.

        This is the rule the `.d.ts` files describe for tools without an output schema. With `max_bytes`, a
        result whose text alone is longer is not converted at all (parsing megabytes only to refuse them
        would hold up the event loop): the outcome carries only its `size_hint`.
        """
        if result.is_error:
            return cls(error=result_text(result) or "the tool reported an error without a message")
        if max_bytes is not None:
            size = sum(len(c.text) for c in result.content if isinstance(c, types.TextContent))
            if size > max_bytes:
                return cls(size_hint=size)
        if result.structured_content is not None:
            return cls(value=result.structured_content)
        return cls(value=_maybe_json(result_text(result)))


ToolCaller = Callable[[str, str, dict[str, Any]], Awaitable[ToolOutcome]]
"""`(server, tool, arguments) -> ToolOutcome`; raises `ToolCallError` to refuse or fail the call."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One inner call in an execution's summary, in the order the program made them."""

    server: str
    tool: str
    ok: bool
    duration_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "tool": self.tool,
            "ok": self.ok,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
        }


def _maybe_json(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text
