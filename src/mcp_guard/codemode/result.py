"""What one execution returns, and the compact text a model reads about it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from .calls import CallRecord

ErrorKind = Literal["syntax", "unsupported-typescript", "runtime", "timeout", "memory", "limit", "denied", "upstream"]
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))

TIMEOUT_HINT = "look for an endless loop or await; run independent tool calls together with Promise.all"
CPU_HINT = "the program computes too much: look for an endless or very long loop, or work on less data"
CRASH_HINTS: dict[str, str] = {
    "timeout": TIMEOUT_HINT,
    "memory": "work on smaller pieces and keep only what the result needs (code_mode.memory_limit_bytes, "
    "code_mode.process_memory_bytes)",
    "runtime": "the program made the sandbox's engine fail: avoid calling builtins on huge array-likes or strings",
}


@dataclass(frozen=True, slots=True)
class ExecutionError:
    """Why an execution failed. `line`/`column` are 1-based positions in the TypeScript as submitted."""

    kind: ErrorKind
    message: str
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The outcome of one program: its return value (JSON-able), console lines, inner calls, timing."""

    ok: bool
    value: Any
    logs: tuple[str, ...]
    calls: tuple[CallRecord, ...]
    duration_ms: float
    error: ExecutionError | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (REST responses, `structuredContent`, audit)."""
        return {
            "ok": self.ok,
            "value": self.value,
            "logs": list(self.logs),
            "calls": [call.to_dict() for call in self.calls],
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error.to_dict() if self.error else None,
        }


def format_for_model(result: ExecutionResult) -> str:
    """The text an `executeToolCode` call returns to the model: outcome, value or error, logs, calls."""
    calls = len(result.calls)
    timing = f"{result.duration_ms:.0f} ms, {calls} tool call{'' if calls == 1 else 's'}"
    if result.ok:
        parts = [f"Execution succeeded ({timing}). Return value:", _value_text(result.value)]
    else:
        parts = [f"Execution failed ({timing}).", *_error_lines(result.error)]
    if result.logs:
        parts += ["Console output:", *result.logs]
    if result.calls:
        parts += ["Tool calls:", *(_call_line(call) for call in result.calls)]
    return "\n".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error_lines(error: ExecutionError | None) -> list[str]:
    if error is None:
        return ["Error: unknown"]
    where = f" at line {error.line}, column {error.column}" if error.line is not None else ""
    lines = [f"Error ({error.kind}){where}: {error.message}"]
    if error.hint:
        lines.append(f"Hint: {error.hint}")
    return lines


def _call_line(call: CallRecord) -> str:
    status = "ok" if call.ok else f"failed: {call.error}"
    return f"- {call.server}/{call.tool} ({call.duration_ms:.0f} ms) {status}"
