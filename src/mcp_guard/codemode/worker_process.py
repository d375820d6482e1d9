"""One Code Mode worker process as the gateway holds it: spawn, talk, kill, and say why it died.

`WorkerProcess.spawn` runs in the pool's spawner thread (it blocks until the worker has loaded V8 and said
`ready`); everything else is called from whatever event loop runs the execution. The worker gets its end of
a Unix socket pair and nothing else: no inherited descriptors, its own session (terminal signals meant for
the gateway do not reach it), its stderr in an unlinked temporary file read only after it died.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from typing import IO

from .frames import FrameReader, FrameWriter

_READY_TIMEOUT_SECONDS = 30.0
_STDERR_TAIL = 8192
_MEMORY_MARKERS = ("out of memory", "invalid array length", "invalid string length", "MemoryError", "Cannot allocate")


# `python -m mcp_guard.codemode.worker` would run the packages' __init__ modules first, which import the
# whole gateway and the mcp SDK (1.5 s of start-up for nothing): the worker registers the two packages
# without running them, then imports only its own modules.
_BOOTSTRAP = """
import importlib.util, sys
for name in ("mcp_guard", "mcp_guard.codemode"):
    sys.modules[name] = importlib.util.module_from_spec(importlib.util.find_spec(name))
from mcp_guard.codemode.worker import main
main(sys.argv[1:])
"""


class WorkerStartError(RuntimeError):
    """A worker did not start (the `codemode` extra missing, or the machine out of processes or memory)."""


class WorkerProcess:
    """A live worker and its channel; `runs` counts the programs it ran."""

    def __init__(self, process: subprocess.Popen[bytes], sock: socket.socket, stderr: IO[bytes]) -> None:
        self.process = process
        self.sock = sock
        self.stderr = stderr
        self.reader = FrameReader(sock, 0)  # the bound is set per run, from that run's limits
        self.writer = FrameWriter(sock)
        self.runs = 0
        self.killed_by_gateway = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def spawn(cls, nice: int) -> WorkerProcess:
        """Start a worker and wait (blocking) until it is ready."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stderr = tempfile.TemporaryFile()
        argv = [sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno()), str(os.getpid()), str(nice)]
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                env=_worker_environment(),
            )
        except OSError as exc:
            ours.close()
            stderr.close()
            raise WorkerStartError(f"could not start a Code Mode worker: {exc}") from None
        finally:
            theirs.close()
        worker = cls(process, ours, stderr)
        worker._wait_ready()
        ours.setblocking(False)
        return worker

    def _wait_ready(self) -> None:
        frame = FrameReader(self.sock, 65536).read_blocking(_READY_TIMEOUT_SECONDS)
        if frame is None or frame[0]["t"] != "ready":
            self.kill()
            self.reap(timeout=5.0)
            raise WorkerStartError(f"a Code Mode worker did not start: {self.stderr_tail() or 'no output'}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: nothing the program does inside V8 can delay it."""
        if self.process.poll() is None:
            try:
                os.kill(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.sock.close()

    def reap(self, timeout: float) -> int | None:
        """Wait (blocking) for the process to end; its return code (negative: the signal), or None."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def death_cause(self, returncode: int | None) -> tuple[str, str]:
        """(error kind, message) for a worker that died while running a program."""
        if returncode == -signal.SIGXCPU:
            return "timeout", "the program used more CPU time than allowed and its worker process was stopped"
        tail = self.stderr_tail()
        if any(marker in tail for marker in _MEMORY_MARKERS):
            detail = _fatal_line(tail)
            return "memory", (
                "the program needed more memory than the sandbox allows"
                + (f" (V8: {detail})" if detail else "")
                + " and its worker process was stopped"
            )
        how = f"signal {signal.Signals(-returncode).name}" if returncode is not None and returncode < 0 else "exit"
        return "runtime", f"the program crashed the sandbox engine ({how}); its worker process was replaced"

    def stderr_tail(self) -> str:
        try:
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - _STDERR_TAIL))
            return self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def close_files(self) -> None:
        self.stderr.close()


def _fatal_line(text: str) -> str:
    for line in text.splitlines():
        if "Fatal" in line and ":" in line:
            return line.split(":", 1)[1].strip()
    return ""


def _worker_environment() -> dict[str, str]:
    """The worker needs to import mcp_guard like the gateway does, and nothing else from its environment."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
