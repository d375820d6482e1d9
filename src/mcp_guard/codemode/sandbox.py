"""Run one JavaScript program in a fresh, hardened V8 context (mini-racer) and drive its tool calls.

This module runs only inside a Code Mode worker process (`worker.py`), never in the gateway.

How a run goes:

1. `prepare()` makes a fresh `MiniRacer` context and evaluates `prelude.js` in it (removals, console
   capture, timers); its value is the host channel, one function the program cannot reach since it is
   never stored in a global. The worker does this while it waits for a run, so it costs a run nothing;
2. the run sets the heap limit and "configure"s the channel with its servers and limits (one global per
   server), then evaluates the program as an async function expression, `(async function () {` on line 1
   and the program from line 2 on (so top-level `await` and `return` work and every position is the
   program's own, one line down), and hands it to "start";
3. the driver loops: "pump" returns what the program queued (tool calls, timers, console lines, its
   final outcome) as a string the runtime assembled from primitives, every tool call goes to the one
   `ToolBridge` (in the worker: a frame to the gateway) and every timer to `asyncio.sleep`, and each
   batch of answers goes back with "deliver"; calls the program made together therefore run
   concurrently.

Python only ever enters V8 through cancellable calls, which await without blocking and are cancelled by
the timeout. What V8 cannot interrupt (a builtin looping in C++ over a huge array-like, a process-wide
abort) is contained by the worker process, which the gateway kills from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

from py_mini_racer import JSEvalException, JSOOMException, JSParseException, MiniRacer

from .bindings import ServerGlobal
from .positions import wrap_program
from .settings import CodeModeSettings

logger = logging.getLogger(__name__)

ToolBridge = Callable[[str, str, str], Awaitable[str]]
"""`(server, tool, arguments_json) -> answer_json`: the one way a program reaches a tool.

The answer is `{"ok": true, "value": <JSON>}` or `{"ok": false, "error": {"kind": ..., "message": ...}}`;
the sandbox resolves the program's promise with `value` or rejects it with a `ToolError`. Raise
`SandboxAbort` to stop the whole program instead (a refusal that must not be caught).
"""

_RUNTIME_FILE = "mcp-guard-runtime.js"
_CANCEL_GRACE_SECONDS = 5.0
_COMPILE_TIMEOUT_SECONDS = 5.0
COMPILE_LINE_OFFSET = 3  # "(async function anonymous(\n) {\n" and the "use strict" line come first
_SLEEP_ANSWER = '{"ok":true,"value":null}'
AbortKind = Literal["syntax", "runtime", "timeout", "memory", "limit", "denied", "upstream"]


class SandboxAbort(Exception):
    """Stops a program: raised by the driver (limits, timeout, memory) or by a `ToolBridge`."""

    def __init__(self, kind: AbortKind, message: str) -> None:
        super().__init__(message)
        self.kind: AbortKind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Thrown:
    """What an uncaught exception of the program looked like (its `stack` holds `program.ts:L:C` frames)."""

    name: str
    message: str
    stack: str
    kind: str | None  # "denied" / "upstream" / "limit" for a ToolError, else None


@dataclass(slots=True)
class SandboxRun:
    """Everything a run produced, however it ended."""

    logs: list[str] = field(default_factory=list)
    logs_dropped: int = 0
    value_json: str | None = None  # the return value's JSON, at most `max_result_bytes`, when it returned
    value_chars: int = 0  # the full length of that JSON
    thrown: Thrown | None = None
    abort: SandboxAbort | None = None


@lru_cache(maxsize=1)
def _prelude_source() -> str:
    source = files(__package__).joinpath("prelude.js").read_text(encoding="utf-8")
    return f"{source}\n//# sourceURL={_RUNTIME_FILE}\n"


@dataclass(frozen=True, slots=True)
class Engine:
    """A fresh context with the runtime installed, waiting for one program."""

    racer: MiniRacer
    channel: Any  # the runtime's `channel(op, arg)`, callable from Python only


async def prepare() -> Engine:
    """A fresh context with `prelude.js` evaluated in it (no program has run in it, none ever will but one)."""
    racer = MiniRacer()
    channel: Any = await racer.eval_cancelable(_prelude_source())
    return Engine(racer, channel.cancelable())


async def run_program(
    javascript: str,
    *,
    servers: Iterable[ServerGlobal],
    bridge: ToolBridge,
    settings: CodeModeSettings,
    engine: Engine | None = None,
) -> SandboxRun:
    """Run `javascript` (already stripped of types) to completion, failure or a limit, in `engine` (or a
    context made now)."""
    engine = engine or await prepare()
    racer = engine.racer
    driver = _Driver(engine, bridge, settings)
    try:
        racer.set_hard_memory_limit(settings.memory_limit_bytes)
        async with asyncio.timeout(settings.timeout_seconds):
            try:
                await driver.run(_configuration(servers, settings), wrap_program(javascript))
            except JSEvalException as exc:
                driver.result.abort = _engine_abort(exc, racer)
    except TimeoutError:
        driver.result.abort = SandboxAbort(
            "timeout", f"the program did not finish within {settings.timeout_seconds:g} s and was stopped"
        )
    except SandboxAbort as exc:
        driver.result.abort = exc
    finally:
        await driver.cancel_inflight()
    if driver.result.abort is None or driver.result.abort.kind not in ("timeout", "memory"):
        racer.close()  # after a timeout or a memory stop the worker exits instead: closing may wait on V8
    return driver.result


async def compile_error(javascript: str) -> str | None:
    """V8's compile error for `javascript` as the program body, or None when it compiles.

    The body goes through the AsyncFunction constructor, which parses a function body and never runs
    it (text that tries to close the function early is itself a syntax error), so nothing executes
    in this unhardened context. Its messages count lines from the synthesised source; see
    `COMPILE_LINE_OFFSET`.
    """
    body = json.dumps('"use strict";\n' + javascript)
    script = f"new (Object.getPrototypeOf(async function () {{}}).constructor)({body}); 0"
    racer = MiniRacer()
    try:
        await asyncio.wait_for(racer.eval_cancelable(script), timeout=_COMPILE_TIMEOUT_SECONDS)
    except JSEvalException as exc:
        return str(exc)
    except TimeoutError:
        return None
    finally:
        racer.close()
    return None


def _configuration(servers: Iterable[ServerGlobal], settings: CodeModeSettings) -> str:
    config = {
        "servers": {s.binding: {"server": s.server, "methods": dict(s.methods)} for s in servers},
        "maxToolCalls": settings.max_tool_calls,
        "maxArgumentChars": settings.max_tool_argument_bytes,
        "maxLogChars": settings.max_log_bytes,
        "maxResultChars": settings.max_result_bytes,
        "maxTimers": settings.max_timers,
    }
    return json.dumps(config)


def _engine_abort(exc: JSEvalException, racer: MiniRacer) -> SandboxAbort:
    if isinstance(exc, JSOOMException) or racer.was_hard_memory_limit_reached():
        return SandboxAbort("memory", "the program used more memory than the sandbox allows and was stopped")
    if isinstance(exc, JSParseException):
        return SandboxAbort("syntax", str(exc))
    logger.warning("Code Mode runtime failed: %s", exc)
    return SandboxAbort("runtime", "the program broke the sandbox runtime and was stopped")


class _Driver:
    """The pump/deliver loop of one run."""

    def __init__(self, engine: Engine, bridge: ToolBridge, settings: CodeModeSettings) -> None:
        self.racer = engine.racer
        self.channel = engine.channel
        self.bridge = bridge
        self.settings = settings
        self.result = SandboxRun()
        self.inflight: dict[asyncio.Task[str], int] = {}
        self.tool_calls = 0

    async def run(self, configuration: str, program: str) -> None:
        await self.channel("configure", configuration)
        function = await self.racer.eval_cancelable(program)
        await self.channel("start", function)
        while not await self._pump_once():
            if not self.inflight:
                raise SandboxAbort(
                    "runtime",
                    "the program is waiting for a promise that nothing will ever settle "
                    "(no tool call or timer is pending)",
                )
            done, _ = await asyncio.wait(self.inflight, return_when=asyncio.FIRST_COMPLETED)
            await self._deliver_answers(done)

    async def _pump_once(self) -> bool:
        """Collect the program's requests and output; return whether it has finished."""
        report = _parse_report(await self.channel("pump"))
        self.result.logs.extend(report.logs)
        self.result.logs_dropped += report.log_dropped
        if report.outcome is not None:
            self._record_outcome(report.outcome)
            return True
        self._dispatch(report.requests)
        return False

    def _record_outcome(self, outcome: Mapping[str, Any]) -> None:
        if outcome.get("state") == "returned":
            self.result.value_json = str(outcome.get("value", "null"))
            chars = outcome.get("chars")
            self.result.value_chars = chars if isinstance(chars, int) else len(self.result.value_json)
            return
        error = outcome.get("error")
        error = error if isinstance(error, dict) else {}
        kind = error.get("kind")
        self.result.thrown = Thrown(
            name=str(error.get("name", "Error")),
            message=str(error.get("message", "")),
            stack=str(error.get("stack", "")),
            kind=kind if isinstance(kind, str) else None,
        )

    def _dispatch(self, requests: list[tuple[int, str, tuple[str, ...]]]) -> None:
        tool_requests = sum(1 for r in requests if r[1] == "tool")
        if self.tool_calls + tool_requests > self.settings.max_tool_calls:  # the runtime counts too: a backstop
            raise _protocol_error()
        self.tool_calls += tool_requests
        for request_id, op, args in requests:
            coroutine = self._call(*args) if op == "tool" else self._sleep(float(args[0]))
            self.inflight[asyncio.ensure_future(coroutine)] = request_id

    async def _call(self, server: str, tool: str, arguments: str) -> str:
        try:
            return await self.bridge(server, tool, arguments)
        except (SandboxAbort, asyncio.CancelledError):
            raise
        except Exception:  # the bridge should not raise; if it does, the program must not see why
            logger.exception("Code Mode tool bridge failed for %s/%s", server, tool)
            return json.dumps({"ok": False, "error": {"kind": "upstream", "message": "internal gateway error"}})

    async def _sleep(self, milliseconds: float) -> str:
        await asyncio.sleep(min(milliseconds / 1000.0, self.settings.timeout_seconds))
        return _SLEEP_ANSWER

    async def _deliver_answers(self, done: Iterable[asyncio.Task[str]]) -> None:
        answers = []
        for task in done:
            request_id = self.inflight.pop(task)
            answers.append(f"[{request_id},{task.result()}]")  # SandboxAbort from the bridge propagates here
        await self.channel("deliver", "[" + ",".join(answers) + "]")

    async def cancel_inflight(self) -> None:
        """Stop the calls still running (the program ended or was stopped) and wait a little for them."""
        tasks = list(self.inflight)
        self.inflight.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_GRACE_SECONDS)
            for task in tasks:
                if task.done() and not task.cancelled():
                    with contextlib.suppress(BaseException):
                        task.exception()  # retrieved, so asyncio does not log it as lost


@dataclass(frozen=True, slots=True)
class _Report:
    requests: list[tuple[int, str, tuple[str, ...]]]
    logs: list[str]
    log_dropped: int
    outcome: dict[str, Any] | None


def _parse_report(text: Any) -> _Report:
    """The runtime's report, checked field by field (it is built by the runtime alone, so a mismatch means
    the context is broken: the run stops)."""
    try:
        report = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise _protocol_error()
    requests, logs, dropped, outcome = (report.get(k) for k in ("requests", "logs", "logDropped", "outcome"))
    if not isinstance(requests, list) or not isinstance(logs, list) or not isinstance(dropped, int):
        raise _protocol_error()
    if outcome is not None and not isinstance(outcome, dict):
        raise _protocol_error()
    return _Report([_parse_request(r) for r in requests], [str(line) for line in logs], dropped, outcome)


def _parse_request(raw: Any) -> tuple[int, str, tuple[str, ...]]:
    """`[id, "tool", server, tool, argsJson]` or `[id, "sleep", ms]`, checked field by field."""
    if isinstance(raw, list) and len(raw) >= 3 and isinstance(raw[0], int):
        if raw[1] == "tool" and len(raw) == 5 and all(isinstance(x, str) for x in raw[2:]):
            return raw[0], "tool", (raw[2], raw[3], raw[4])
        if raw[1] == "sleep" and len(raw) == 3 and isinstance(raw[2], (int, float)):
            return raw[0], "sleep", (str(max(0.0, float(raw[2]))),)
    raise _protocol_error()


def _protocol_error() -> SandboxAbort:
    return SandboxAbort("runtime", "the program interfered with the sandbox runtime and was stopped")
