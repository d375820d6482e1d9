"""A Code Mode worker process: runs programs one at a time in V8, with limits the OS enforces.

Started by the gateway's pool (`pool.py`) as `python -m mcp_guard.codemode.worker FD PARENT_PID NICE`, with
its end of a Unix socket pair as FD. It

- dies with the gateway: `PR_SET_PDEATHSIG` (SIGKILL when the thread that spawned it ends, which is the
  pool's long-lived spawner thread), and it exits when the socket closes;
- runs at a lower priority (NICE), so busy programs yield the CPU to the gateway;
- loads V8 and the TypeScript parser once, then measures its idle footprint;
- for each `run` frame sets the OS limits of that run (RLIMIT_DATA: idle footprint + `process_memory_bytes`,
  which bounds what escapes V8's heap limit; RLIMIT_CPU as a backstop to its own CPU watchdog), runs the
  program (`runner.run`), sends each inner call to the gateway as a `call` frame, and answers `done`;
- exits after any run that left V8 busy or broken (timeout, memory, CPU), so the pool replaces it.

Whatever V8 does that nothing inside this process can stop (an abort, an uninterruptible loop) ends this
process, not the gateway: the gateway kills it from outside and reports one failed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import resource
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from .frames import FrameReader, FrameWriter
from .result import CPU_HINT, TIMEOUT_HINT
from .settings import CodeModeSettings

if TYPE_CHECKING:
    from .sandbox import Engine

_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL = 0.02
_STOP_GRACE_SECONDS = 0.5
MAX_FRAME_BYTES = 512 * 1024 * 1024  # the gateway's frames; it bounds what it sends by its own limits


def main(argv: list[str]) -> None:
    fd, parent_pid, nice = (int(arg) for arg in argv)
    _die_with_parent(parent_pid)
    os.nice(nice)
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    _warm_up()
    idle_data = _data_bytes()
    asyncio.run(_serve(sock, idle_data))


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _warm_up() -> None:
    """Load V8 and the parser now, so the first run does not pay for them (and the footprint counts them)."""
    from py_mini_racer import MiniRacer

    from .typescript import strip_types

    MiniRacer().close()
    strip_types("const warm: number = 1;")


def _data_bytes() -> int:
    """VmData: what RLIMIT_DATA counts (V8 reserves a 512 MiB code range here, mostly never touched)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(settings: CodeModeSettings, idle_data: int) -> None:
    if idle_data:
        resource.setrlimit(resource.RLIMIT_DATA, (idle_data + settings.process_memory_bytes, resource.RLIM_INFINITY))
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(cpu + settings.cpu_seconds) + 1, resource.RLIM_INFINITY))


class _Gateway:
    """This worker's side of the channel: routes `answer` frames to the calls waiting for them."""

    def __init__(self, sock: socket.socket) -> None:
        self.reader = FrameReader(sock, MAX_FRAME_BYTES)
        self.writer = FrameWriter(sock)
        self.runs: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue()
        self.waiting: dict[int, asyncio.Future[tuple[dict[str, Any], bytes]]] = {}
        self.next_id = 1

    async def receive(self) -> None:
        while (frame := await self.reader.read()) is not None:
            header, payload = frame
            if header["t"] == "run":
                self.runs.put_nowait(frame)
            elif header["t"] == "answer":
                future = self.waiting.pop(header.get("id", -1), None)
                if future is not None and not future.done():
                    future.set_result(frame)
        os._exit(0)  # the gateway closed the channel (or is gone)

    async def call_tool(self, server: str, tool: str, arguments: str) -> str:
        """The sandbox's `ToolBridge`: one `call` frame out, its `answer` back."""
        from .sandbox import SandboxAbort

        call_id, self.next_id = self.next_id, self.next_id + 1
        future: asyncio.Future[tuple[dict[str, Any], bytes]] = asyncio.get_running_loop().create_future()
        self.waiting[call_id] = future
        await self.writer.write({"t": "call", "id": call_id, "server": server, "tool": tool}, _bytes(arguments))
        try:
            header, payload = await future
        finally:
            self.waiting.pop(call_id, None)
        fatal = header.get("fatal")
        if isinstance(fatal, dict):
            raise SandboxAbort(fatal.get("kind", "denied"), str(fatal.get("message", "")))
        return payload.decode("utf-8", "surrogatepass")


async def _serve(sock: socket.socket, idle_data: int) -> None:
    from .sandbox import prepare

    gateway = _Gateway(sock)
    receiving = asyncio.create_task(gateway.receive())
    engine: asyncio.Future[Engine] = asyncio.ensure_future(prepare())  # made while nobody waits for it
    await engine
    await gateway.writer.write({"t": "ready", "pid": os.getpid()})
    while True:
        header, payload = await gateway.runs.get()
        settings = CodeModeSettings.model_validate(header["settings"])
        _set_limits(settings, idle_data)
        servers = {str(s): [str(t) for t in tools] for s, tools in header["servers"].items()}
        code = payload.decode("utf-8", "surrogatepass")
        done = await _supervised(code, servers, gateway, settings, await engine)
        await gateway.writer.write(done)
        if done["recycle"]:
            os._exit(0)
        engine = asyncio.ensure_future(prepare())
    receiving.cancel()  # pragma: no cover - the loop above only ends by exiting


async def _supervised(
    code: str, servers: dict[str, list[str]], gateway: _Gateway, settings: CodeModeSettings, engine: Engine
) -> dict[str, Any]:
    """Run the program under a CPU-time watchdog; a stop the program's task cannot finish is still reported."""
    from . import runner

    run = runner.run(code, servers=servers, bridge=gateway.call_tool, settings=settings, engine=engine)
    task = asyncio.create_task(run)
    started, cpu_started = time.monotonic(), time.process_time()
    while not task.done():
        await asyncio.wait({task}, timeout=_WATCH_INTERVAL)
        if task.done():
            break
        if time.process_time() - cpu_started > settings.cpu_seconds:
            message = f"the program used more than {settings.cpu_seconds:g} s of CPU time and was stopped"
            return await _stop(task, message, CPU_HINT)
        if time.monotonic() - started > settings.timeout_seconds + _STOP_GRACE_SECONDS:  # V8 ignored the timeout
            message = f"the program did not finish within {settings.timeout_seconds:g} s and was stopped"
            return await _stop(task, message, TIMEOUT_HINT)
    with contextlib.suppress(asyncio.CancelledError):
        outcome = task.result()
        error = outcome.error.to_dict() if outcome.error is not None else None
        return _done(outcome.value, outcome.logs, error, recycle=outcome.recycle)
    return _done(None, (), {"kind": "runtime", "message": "the run was cancelled"}, recycle=True)


async def _stop(task: asyncio.Task[Any], message: str, hint: str) -> dict[str, Any]:
    task.cancel()
    await asyncio.wait({task}, timeout=_STOP_GRACE_SECONDS)  # V8 may not stop: the worker exits after reporting
    return _done(None, (), {"kind": "timeout", "message": message, "hint": hint}, recycle=True)


def _done(value: Any, logs: Any, error: dict[str, Any] | None, *, recycle: bool) -> dict[str, Any]:
    return {"t": "done", "value": value, "logs": list(logs), "error": error, "recycle": recycle}


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


if __name__ == "__main__":
    main(sys.argv[1:])
