"""`execute`: one Code Mode program, from TypeScript text to an `ExecutionResult`.

strip types (typescript.py) → run in a fresh V8 context (sandbox.py), each inner call through the
caller's `ToolCaller` (calls.py) → map whatever happened onto one result with an error kind, a
position in the original TypeScript and a hint (positions.py, result.py).

The parser and V8 are imported on first use, so the rest of the package (settings, `.d.ts` files,
meta-tools) works without the `codemode` extra installed.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import json
import logging
import re
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .bindings import ServerGlobal, server_globals
from .calls import CallRecord, ToolCaller, ToolCallError
from .positions import Position, source_lines, stack_position, syntax_error
from .result import ErrorKind, ExecutionError, ExecutionResult
from .settings import CodeModeSettings

if TYPE_CHECKING:
    from .sandbox import SandboxRun

logger = logging.getLogger(__name__)

_DEFAULT_SETTINGS = CodeModeSettings()
_ENGINE_MODULES = ("py_mini_racer", "tree_sitter", "tree_sitter_typescript")
_NOT_DEFINED = re.compile(r"^(\S+) is not defined$")
_UNKNOWN_TOOL = re.compile(r"^unknown tool '.*' on server '(.*)'; available")
_HINTS: dict[str, str] = {
    "syntax": "fix the code at that position; the program runs as the body of an async function",
    "unsupported-typescript": "use erasable TypeScript only (types, interfaces, `as`, generics); "
    "no enum, namespace, parameter properties, import or export",
    "denied": "the gateway refused this call (permissions, rate limit or budget); retrying it will not help",
    "upstream": "the tool or its server failed; check the arguments against the .d.ts types, "
    "or catch the ToolError to carry on without this result",
    "runtime": "fix the error at that position and run the program again",
}


class CodeModeUnavailable(ImportError):
    """The `codemode` extra (mini-racer, tree-sitter) is not installed."""


async def execute(
    code: str,
    *,
    servers: Mapping[str, Collection[str]],
    call_tool: ToolCaller,
    settings: CodeModeSettings | None = None,
) -> ExecutionResult:
    """Run one TypeScript program that may call the tools in `servers` (server → visible tool names).

    Never raises for anything the program does; every failure is an `ExecutionResult` with `ok=False`.
    Raises `CodeModeUnavailable` when the `codemode` extra is not installed.
    """
    _require_engine()
    from .sandbox import run_program  # loaded on first use: see the module docstring

    settings = settings or _DEFAULT_SETTINGS
    started = time.perf_counter()
    bridge = _Bridge(call_tool, servers, settings.max_tool_result_bytes)
    value: Any = None
    logs: tuple[str, ...] = ()
    javascript = await _javascript(code, settings)
    if isinstance(javascript, ExecutionError):
        error: ExecutionError | None = javascript
    else:
        globals_ = server_globals(servers)
        run = await run_program(javascript, servers=globals_, bridge=bridge, settings=settings)
        error = _run_error(run, source_lines(javascript), globals_, settings)
        value = _value(run, settings) if error is None else None
        logs = _logs(run, settings)
    duration = (time.perf_counter() - started) * 1000.0
    return ExecutionResult(error is None, value, logs, bridge.records(), duration, error)


def _require_engine() -> None:
    missing = [name for name in _ENGINE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise CodeModeUnavailable(
            f"Code Mode needs the 'codemode' extra (pip install 'mcp-guard[codemode]'); missing: {', '.join(missing)}"
        )


async def _javascript(code: str, settings: CodeModeSettings) -> str | ExecutionError:
    """The program as JavaScript, or why not. For a syntax error V8's own message and position are
    preferred: they are exact where the TypeScript parser's error recovery only points near the spot."""
    from .typescript import TypeScriptError, strip_types

    if len(code.encode("utf-8")) > settings.max_code_bytes:
        return ExecutionError("limit", f"the program is longer than {settings.max_code_bytes} bytes")
    try:
        return strip_types(code)
    except TypeScriptError as exc:
        error = ExecutionError(exc.kind, exc.message, exc.line, exc.column, _HINTS[exc.kind])
        return (await _v8_syntax_error(code) or error) if exc.kind == "syntax" else error


async def _v8_syntax_error(code: str) -> ExecutionError | None:
    from .sandbox import COMPILE_LINE_OFFSET, compile_error
    from .typescript import TypeScriptError, strip_types

    try:
        javascript = strip_types(code, tolerant=True)
    except TypeScriptError:
        return None
    message = await compile_error(javascript)
    if message is None:
        return None
    text, position = syntax_error(message, source_lines(javascript), COMPILE_LINE_OFFSET)
    return _located("syntax", text, position, _HINTS["syntax"]) if position is not None else None


@dataclass(slots=True)
class _Call:
    server: str
    tool: str
    started: float
    ok: bool = False
    finished: float | None = None
    error: str | None = "cancelled: the execution ended before the call finished"


class _Bridge:
    """The sandbox's one callback: runs each inner call through `call_tool` and records it."""

    def __init__(self, call_tool: ToolCaller, servers: Mapping[str, Collection[str]], max_result: int) -> None:
        self.call_tool = call_tool
        self.servers = servers
        self.max_result = max_result  # bytes of a result's JSON handed to the program
        self.calls: list[_Call] = []

    async def __call__(self, server: str, tool: str, arguments_json: str) -> str:
        call = _Call(server, tool, time.perf_counter())
        self.calls.append(call)
        try:
            answer = await self._answer(call, arguments_json)
        finally:
            call.finished = time.perf_counter()
        return answer

    async def _answer(self, call: _Call, arguments_json: str) -> str:
        from .sandbox import SandboxAbort

        try:
            arguments = json.loads(arguments_json)
            if call.tool not in self.servers.get(call.server, ()):  # the sandbox only offers visible tools
                raise ToolCallError("denied", f"unknown tool {call.server + '/' + call.tool!r}")
            outcome = await self.call_tool(call.server, call.tool, arguments)
        except ToolCallError as exc:
            call.error = f"{exc.kind}: {exc.message}"
            if exc.fatal:
                raise SandboxAbort(exc.kind, f"{call.server}/{call.tool}: {exc.message}") from None
            return _failure(exc.kind, exc.message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Code Mode call to %s/%s failed inside the gateway", call.server, call.tool)
            call.error = "upstream: internal gateway error"
            return _failure("upstream", "internal gateway error")
        if outcome.error is not None:
            call.error = f"upstream: {outcome.error}"
            return _failure("upstream", outcome.error)
        try:
            value = json.dumps(outcome.value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            call.error = "upstream: the tool's result is not JSON"
            return _failure("upstream", "the tool's result could not be converted to JSON")
        if len(value) > self.max_result:  # characters ≤ UTF-8 bytes: a cheap, safe first test
            size = len(value.encode("utf-8"))
            if size > self.max_result:
                call.error = f"limit: result of {size} bytes"
                return _failure("limit", _too_large(size, self.max_result))
        call.ok, call.error = True, None
        return f'{{"ok":true,"value":{value}}}'

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


def _failure(kind: str, message: str) -> str:
    return json.dumps({"ok": False, "error": {"kind": kind, "message": message}}, ensure_ascii=False)


def _run_error(
    run: SandboxRun, lines: list[str], globals_: list[ServerGlobal], settings: CodeModeSettings
) -> ExecutionError | None:
    if run.abort is not None:
        return _abort_error(run.abort.kind, run.abort.message, lines, settings)
    thrown = run.thrown
    if thrown is None:
        return None
    kind: ErrorKind = "denied" if thrown.kind == "denied" else "upstream" if thrown.kind == "upstream" else "runtime"
    position = stack_position(thrown.stack, lines)
    message = thrown.message if kind != "runtime" else f"{thrown.name}: {thrown.message}"
    return _located(kind, message, position, _thrown_hint(kind, thrown.name, thrown.message, globals_))


def _abort_error(kind: ErrorKind, message: str, lines: list[str], settings: CodeModeSettings) -> ExecutionError:
    if kind == "syntax":
        text, position = syntax_error(message, lines)
        return _located("syntax", text, position, _HINTS["syntax"])
    hints = {
        "timeout": "look for an endless loop or await; run independent tool calls together with Promise.all",
        "memory": f"the limit is {settings.memory_limit_bytes // (1024 * 1024)} MB: work on smaller pieces "
        "and keep only what the result needs",
        "limit": f"at most {settings.max_tool_calls} tool calls per execution: "
        "ask the tools for more per call, or split the work over several executions",
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
    encoded = text.encode("utf-8")
    if run.value_chars <= settings.max_result_bytes and len(encoded) <= settings.max_result_bytes:
        return json.loads(text)
    kept = encoded[: settings.max_result_bytes].decode("utf-8", "ignore")
    return f"{kept}… [truncated: the return value's JSON exceeds the {settings.max_result_bytes}-byte limit]"


def _logs(run: SandboxRun, settings: CodeModeSettings) -> tuple[str, ...]:
    kept: list[str] = []
    budget = settings.max_log_bytes
    dropped = run.logs_dropped
    for index, line in enumerate(run.logs):
        size = len(line.encode("utf-8")) + 1
        if size > budget:
            kept.append(line.encode("utf-8")[: max(budget - 1, 0)].decode("utf-8", "ignore"))
            dropped += len(run.logs) - index
            break
        kept.append(line)
        budget -= size
    if dropped:
        kept.append(f"… [{dropped} console line(s) dropped or cut: the limit is {settings.max_log_bytes} bytes]")
    return tuple(kept)
