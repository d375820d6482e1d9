"""One Code Mode program inside a worker process, from TypeScript text to the outcome the gateway reports.

strip types (typescript.py) → run in a fresh V8 context (sandbox.py), each inner call through the
worker's `ToolBridge` (a frame to the gateway) → map whatever happened onto one outcome with an error
kind, a position in the original TypeScript and a hint (positions.py, result.py).

Only the worker (`worker.py`) imports this module: V8 and the parser never load in the gateway.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .bindings import ServerGlobal, server_globals
from .positions import Position, source_lines, stack_position, syntax_error
from .result import TIMEOUT_HINT, ErrorKind, ExecutionError
from .sandbox import COMPILE_LINE_OFFSET, Engine, SandboxRun, ToolBridge, compile_error, run_program
from .settings import CodeModeSettings
from .typescript import TypeScriptError, strip_types

_NOT_DEFINED = re.compile(r"^(\S+) is not defined$")
_UNKNOWN_TOOL = re.compile(r"^unknown tool '.*' on server '(.*)'; available")
_HINTS: dict[str, str] = {
    "syntax": "fix the code at that position; the program runs as the body of an async function",
    "unsupported-typescript": "use erasable TypeScript only (types, interfaces, `as`, generics); "
    "no enum, namespace, parameter properties, import or export",
    "denied": "the gateway refused this call (permissions, rate limit or budget); retrying it will not help",
    "upstream": "the tool or its server failed; check the arguments against the .d.ts types, "
    "or catch the ToolError to carry on without this result",
    "limit": "a per-execution limit was reached (the message names it): ask the tools for less, or split "
    "the work over several executions; catch the ToolError to return what you have",
    "runtime": "fix the error at that position and run the program again",
}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a run produced, for the `done` frame; the gateway adds the call summary and the duration."""

    value: Any
    logs: tuple[str, ...]
    error: ExecutionError | None
    recycle: bool  # the V8 side may be left busy or broken: the worker exits after reporting


async def run(
    code: str,
    *,
    servers: Mapping[str, Collection[str]],
    bridge: ToolBridge,
    settings: CodeModeSettings,
    engine: Engine | None = None,
) -> RunOutcome:
    """Run one TypeScript program that may call the tools in `servers` (server → visible tool names), in
    `engine` when the worker prepared one (it is used up either way)."""
    javascript = await _javascript(code, settings)
    if isinstance(javascript, ExecutionError):
        if engine is not None:
            engine.racer.close()
        return RunOutcome(None, (), javascript, recycle=False)
    globals_ = server_globals(servers)
    sandbox_run = await run_program(javascript, servers=globals_, bridge=bridge, settings=settings, engine=engine)
    error = _run_error(sandbox_run, source_lines(javascript), globals_, settings)
    value = _value(sandbox_run, settings) if error is None else None
    recycle = sandbox_run.abort is not None and sandbox_run.abort.kind in ("timeout", "memory", "runtime")
    logs = tuple(_well_formed(line) for line in _logs(sandbox_run, settings))
    if error is not None:
        error = replace(error, message=_well_formed(error.message))
    return RunOutcome(_well_formed_value(value), logs, error, recycle)


def _well_formed(text: str) -> str:
    """`text` with lone surrogates (legal in JavaScript strings, not in UTF-8 or JSON) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _well_formed_value(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    fixed = _well_formed(text)
    return value if fixed is text else json.loads(fixed)


async def _javascript(code: str, settings: CodeModeSettings) -> str | ExecutionError:
    """The program as JavaScript, or why not. For a syntax error V8's own message and position are
    preferred: they are exact where the TypeScript parser's error recovery only points near the spot."""
    try:
        return strip_types(code)
    except TypeScriptError as exc:
        error = ExecutionError(exc.kind, exc.message, exc.line, exc.column, _HINTS[exc.kind])
        return (await _v8_syntax_error(code) or error) if exc.kind == "syntax" else error


async def _v8_syntax_error(code: str) -> ExecutionError | None:
    try:
        javascript = strip_types(code, tolerant=True)
    except TypeScriptError:
        return None
    message = await compile_error(javascript)
    if message is None:
        return None
    text, position = syntax_error(message, source_lines(javascript), COMPILE_LINE_OFFSET)
    return _located("syntax", text, position, _HINTS["syntax"]) if position is not None else None


def _run_error(
    run: SandboxRun, lines: list[str], globals_: list[ServerGlobal], settings: CodeModeSettings
) -> ExecutionError | None:
    if run.abort is not None:
        return _abort_error(run.abort.kind, run.abort.message, lines, settings)
    thrown = run.thrown
    if thrown is None:
        return None
    kind: ErrorKind = thrown.kind if thrown.kind in ("denied", "upstream", "limit") else "runtime"  # type: ignore[assignment]
    position = stack_position(thrown.stack, lines)
    message = thrown.message if kind != "runtime" else f"{thrown.name}: {thrown.message}"
    return _located(kind, message, position, _thrown_hint(kind, thrown.name, thrown.message, globals_))


def _abort_error(kind: ErrorKind, message: str, lines: list[str], settings: CodeModeSettings) -> ExecutionError:
    if kind == "syntax":
        text, position = syntax_error(message, lines)
        return _located("syntax", text, position, _HINTS["syntax"])
    hints = {
        "timeout": TIMEOUT_HINT,
        "memory": f"the limit is {settings.memory_limit_bytes // (1024 * 1024)} MB: work on smaller pieces "
        "and keep only what the result needs",
    }
    return ExecutionError(kind, message, hint=hints.get(kind, _HINTS.get(kind)))


def _located(kind: ErrorKind, message: str, position: Position | None, hint: str | None) -> ExecutionError:
    line, column = position if position is not None else (None, None)
    return ExecutionError(kind, message, line, column, hint)


def _thrown_hint(kind: ErrorKind, name: str, message: str, globals_: list[ServerGlobal]) -> str | None:
    if kind != "runtime":
        return _HINTS[kind]
    missing = _NOT_DEFINED.match(message) if name == "ReferenceError" else None
    if missing is not None:
        return _unknown_name_hint(missing.group(1), globals_)
    unknown_tool = _UNKNOWN_TOOL.match(message)
    if unknown_tool is not None:
        return f"read servers/{unknown_tool.group(1)}.d.ts for the exact method names"
    if name == "RangeError" and "call stack" in message:
        return "the recursion is too deep: use a loop"
    return _HINTS["runtime"]


def _unknown_name_hint(name: str, globals_: list[ServerGlobal]) -> str:
    bindings = [g.binding for g in globals_]
    available = ", ".join(bindings) or "none"
    close = difflib.get_close_matches(name, bindings + [g.server for g in globals_], n=1, cutoff=0.6)
    if close:
        binding = next((g.binding for g in globals_ if close[0] in (g.binding, g.server)), close[0])
        return f"unknown server {name!r}; available: {available} (did you mean {binding!r}?)"
    return f"{name!r} is not defined; servers are the globals {available}"


def _value(run: SandboxRun, settings: CodeModeSettings) -> Any:
    text = run.value_json or "null"
    encoded = text.encode("utf-8", "surrogatepass")
    if run.value_chars <= settings.max_result_bytes and len(encoded) <= settings.max_result_bytes:
        return json.loads(text)
    kept = encoded[: settings.max_result_bytes].decode("utf-8", "ignore")
    return f"{kept}… [truncated: the return value's JSON exceeds the {settings.max_result_bytes}-byte limit]"


def _logs(run: SandboxRun, settings: CodeModeSettings) -> tuple[str, ...]:
    kept: list[str] = []
    budget = settings.max_log_bytes
    dropped = run.logs_dropped
    for index, line in enumerate(run.logs):
        encoded = line.encode("utf-8", "surrogatepass")
        size = len(encoded) + 1
        if size > budget:
            kept.append(encoded[: max(budget - 1, 0)].decode("utf-8", "ignore"))
            dropped += len(run.logs) - index
            break
        kept.append(line)
        budget -= size
    if dropped:
        kept.append(f"… [{dropped} console line(s) dropped or cut: the limit is {settings.max_log_bytes} bytes]")
    return tuple(kept)
