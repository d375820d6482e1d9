"""`execute`: one Code Mode program, run in a worker process, from TypeScript text to an `ExecutionResult`.

The gateway side of a run: take a worker from the pool, send it the program, answer its inner calls
through the caller's `ToolCaller` (bridge.py), and turn its `done` frame into the result. V8 and the
TypeScript parser never load in this process. The gateway decides when a run is over:

- the worker reports `done` (whatever the program did, the worker's own limits included);
- the wall-clock deadline (`timeout_seconds` plus a grace for the worker to report) passes: the worker is
  killed (SIGKILL) and the run ends with kind "timeout";
- the worker dies (a V8 abort, the OS memory limit, the CPU limit): kind "memory", "timeout" or
  "runtime" from its exit status and last words on stderr;
- the worker breaks the protocol: it is killed, and the run ends with kind "runtime".

A killed, crashed or broken worker is replaced; every case ends in one `ExecutionResult`, never an
exception, and nothing waits on V8 in this process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Collection, Mapping
from typing import Any

from .bridge import CallBridge
from .calls import ToolCaller
from .frames import FrameError
from .pool import PoolClosed, WorkerPool, default_pool
from .result import CRASH_HINTS, ERROR_KINDS, ErrorKind, ExecutionError, ExecutionResult
from .settings import MIB, CodeModeSettings
from .worker_process import WorkerProcess, WorkerStartError

logger = logging.getLogger(__name__)

_DEFAULT_SETTINGS = CodeModeSettings()
_ENGINE_MODULES = ("py_mini_racer", "tree_sitter", "tree_sitter_typescript")
_REPORT_GRACE_SECONDS = 2.0  # after timeout_seconds, for the worker's own timeout report to arrive
_DEATH_WAIT_SECONDS = 5.0


class CodeModeUnavailable(ImportError):
    """The `codemode` extra (mini-racer, tree-sitter) is not installed."""


async def execute(
    code: str,
    *,
    servers: Mapping[str, Collection[str]],
    call_tool: ToolCaller,
    settings: CodeModeSettings | None = None,
    pool: WorkerPool | None = None,
) -> ExecutionResult:
    """Run one TypeScript program that may call the tools in `servers` (server → visible tool names).

    Never raises for anything the program does; every failure is an `ExecutionResult` with `ok=False`.
    Raises `CodeModeUnavailable` when the `codemode` extra is not installed. `pool` defaults to one
    process-wide pool with the default pool settings.
    """
    _require_engine()
    settings = settings or _DEFAULT_SETTINGS
    started = time.perf_counter()
    bridge = CallBridge(call_tool, servers, settings)
    if len(code.encode("utf-8", "surrogatepass")) > settings.max_code_bytes:
        too_long = ExecutionError("limit", f"the program is longer than {settings.max_code_bytes} bytes")
        return ExecutionResult(False, None, (), (), 0.0, too_long)
    try:
        async with asyncio.timeout(settings.timeout_seconds + _REPORT_GRACE_SECONDS):
            done = await _run(pool or default_pool(), code, servers, bridge, settings)
    except TimeoutError:
        done = _failed("timeout", f"the program did not finish within {settings.timeout_seconds:g} s and was stopped")
    duration = (time.perf_counter() - started) * 1000.0
    error = _error(done.get("error"))
    value = done.get("value") if error is None else None
    logs = tuple(str(line) for line in done.get("logs") or ())
    return ExecutionResult(error is None, value, logs, bridge.records(), duration, error)


def _require_engine() -> None:
    missing = [name for name in _ENGINE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise CodeModeUnavailable(
            f"Code Mode needs the 'codemode' extra (pip install 'mcp-guard[codemode]'); missing: {', '.join(missing)}"
        )


async def _run(
    pool: WorkerPool, code: str, servers: Mapping[str, Collection[str]], bridge: CallBridge, settings: CodeModeSettings
) -> dict[str, Any]:
    try:
        worker = await pool.acquire()
    except (WorkerStartError, PoolClosed) as exc:
        logger.error("Code Mode could not get a worker: %s", exc)
        return _failed("runtime", "the sandbox is unavailable right now (no worker process could be started)")
    session = _Session(worker, bridge, settings)
    try:
        done = await session.run(code, servers)
    except BaseException:
        worker.killed_by_gateway = True
        pool.discard(worker)  # a timeout or a cancelled request: the worker may still be running the program
        await session.stop_calls()
        raise
    await session.stop_calls()
    if done.get("recycle") or session.broken:
        pool.discard(worker)
    else:
        pool.release(worker)
    return done


class _Session:
    """One run's exchange with its worker."""

    def __init__(self, worker: WorkerProcess, bridge: CallBridge, settings: CodeModeSettings) -> None:
        self.worker = worker
        self.bridge = bridge
        self.settings = settings
        self.calls: set[asyncio.Task[None]] = set()
        self.broken = False
        # The largest frame a well-behaved worker sends: a call's arguments, or the done frame's value and
        # logs (JSON-escaped, up to 6 bytes a character), with room for the headers.
        worker.reader.max_bytes = (
            settings.max_tool_argument_bytes + 6 * (settings.max_result_bytes + settings.max_log_bytes + 1024) + MIB
        )

    async def run(self, code: str, servers: Mapping[str, Collection[str]]) -> dict[str, Any]:
        header = {
            "t": "run",
            "servers": {s: list(t) for s, t in servers.items()},
            "settings": self.settings.model_dump(),
        }
        try:
            await self.worker.writer.write(header, code.encode("utf-8", "surrogatepass"))
            while (frame := await self.worker.reader.read()) is not None:
                message, payload = frame
                if message["t"] == "done":
                    return message
                if message["t"] != "call" or not self._start_call(message, payload):
                    raise FrameError(f"unexpected message {message['t']!r}")
        except (FrameError, OSError) as exc:
            logger.warning("Code Mode worker %s broke the protocol: %s", self.worker.pid, exc)
            self.broken = True
            return _failed("runtime", "the sandbox's worker process misbehaved and was replaced")
        self.broken = True
        return await self._death()

    def _start_call(self, message: dict[str, Any], payload: bytes) -> bool:
        call_id, server, tool = message.get("id"), message.get("server"), message.get("tool")
        if not isinstance(call_id, int) or not isinstance(server, str) or not isinstance(tool, str):
            return False
        if len(self.bridge.calls) >= self.settings.max_tool_calls:
            return False  # the worker counts calls too: more than the limit means it is not the worker we started
        task = asyncio.ensure_future(self._answer(call_id, server, tool, payload))
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)
        return True

    async def _answer(self, call_id: int, server: str, tool: str, arguments: bytes) -> None:
        answer = await self.bridge.answer(server, tool, arguments)
        header: dict[str, Any] = {"t": "answer", "id": call_id}
        if answer.fatal is not None:
            header["fatal"] = answer.fatal
        try:
            await self.worker.writer.write(header, answer.payload)
        except OSError:  # the worker is gone; the run loop notices
            pass

    async def _death(self) -> dict[str, Any]:
        """The worker closed its end: it died. Why, from its exit status and stderr."""
        self.worker.kill()
        returncode = await asyncio.to_thread(self.worker.reap, _DEATH_WAIT_SECONDS)
        kind, message = self.worker.death_cause(returncode)
        logger.warning("Code Mode worker %s died (%s): %s", self.worker.pid, returncode, message)
        return _failed(kind, message)

    async def stop_calls(self) -> None:
        """Cancel the inner calls still running: the program ended, or was stopped.

        A call cancelled while its answer was being written could leave half a frame on the channel, so a
        worker whose run ended with calls in flight is not reused."""
        tasks = list(self.calls)
        for task in tasks:
            task.cancel()
        if tasks:
            self.broken = True
            await asyncio.wait(tasks, timeout=5.0)


def _failed(kind: str, message: str) -> dict[str, Any]:
    return {"t": "done", "value": None, "logs": [], "error": {"kind": kind, "message": message}, "recycle": True}


def _error(raw: Any) -> ExecutionError | None:
    if not isinstance(raw, dict):
        return None
    kind: ErrorKind = raw["kind"] if raw.get("kind") in ERROR_KINDS else "runtime"
    line, column = raw.get("line"), raw.get("column")
    return ExecutionError(
        kind,
        str(raw.get("message", "")),
        line if isinstance(line, int) else None,
        column if isinstance(column, int) else None,
        raw.get("hint") or CRASH_HINTS.get(kind),
    )
