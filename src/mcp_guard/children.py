"""Child processes the gateway starts (stdio upstreams; anything else that runs a subprocess): none is left
behind, whatever happens to the gateway.

- `spawn` starts a child in a session of its own, so it leads a process group that holds every helper it
  starts (`sh -c "sleep 600 & exec server"`, `npx` → `node`).
- `end_group` ends that whole group: SIGTERM, then SIGKILL for whatever is still alive after a grace
  period. The mcp SDK's stdio client signals the group only when the leader outlives its stdin, so a
  server that exits on EOF left its helpers running; here the group is always ended.
- The child dies with the gateway even when the gateway is killed (SIGKILL, OOM): Linux delivers SIGKILL
  to it when the thread that spawned it ends (`PR_SET_PDEATHSIG`). That thread must live as long as the
  gateway: `spawn` runs on the event loop's thread (the main thread under uvicorn); never call it from
  `anyio.to_thread` or a short-lived thread. Helpers further down the tree are not the child, so a small
  *keeper* process (`keeper.py`, one per gateway process, started with the first child) holds a pipe
  from the gateway and ends every registered group when the pipe closes, that is, when the gateway is gone.
- `wait_exit` watches the child itself, not its pipes: a helper that inherited them keeps them open
  after the child is dead, so end-of-file would come late, or never.

Linux is the platform; elsewhere the same calls work without the death signal.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .keeper import group_alive, live_members

__all__ = [
    "END_GRACE",
    "adopt",
    "die_with",
    "end_group",
    "group_alive",
    "keeper_pid",
    "live_members",
    "release",
    "spawn",
    "wait_exit",
]
logger = logging.getLogger(__name__)

END_GRACE = 2.0  # seconds between SIGTERM and SIGKILL to a group
_EXIT_POLL = 0.05  # how often `wait_exit` looks; also bounds how late an exit is noticed
_GROUP_POLL = 0.02
_RELEASE_WAIT = 1.0
_PR_SET_PDEATHSIG = 1
_KEEPER = Path(__file__).with_name("keeper.py")


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: int | IO[Any] | None = subprocess.PIPE,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = None,
) -> asyncio.subprocess.Process:
    """Start `argv` as the leader of a new session and process group, dying with this process; it is
    registered with the keeper until `end_group` has ended its group. Call from the event loop's thread."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_death_signal(os.getpid()),
    )
    _keeper.register(process.pid)
    return process


def adopt(pgid: int) -> None:
    """Have the keeper end process group `pgid` when this process is gone, however it goes: for a group led
    by a process that other code started in a session of its own (`subprocess.Popen(start_new_session=True)`),
    from any thread; unlike `spawn`'s death signal, this does not depend on the starting thread living on.
    `release` when the group has been ended."""
    _keeper.register(pgid)


def release(pgid: int) -> None:
    """The group `adopt`ed has been ended (or is ended by its owner now): the keeper forgets it."""
    _keeper.forget(pgid)


async def wait_exit(process: asyncio.subprocess.Process) -> int:
    """The child's exit code, as soon as it has exited (its pipes may stay open: see the module docstring).

    `Process.wait()` also waits for the pipes to close, so it is not used; the returncode is set by
    asyncio's child watcher the moment the child is reaped."""
    while process.returncode is None:
        await asyncio.sleep(_EXIT_POLL)
    return process.returncode


async def end_group(process: asyncio.subprocess.Process, grace: float = END_GRACE) -> None:
    """End the child's whole process group: SIGTERM, then SIGKILL to what is left after `grace` seconds.
    The group's id is the child's pid (it leads its session), valid even after the child has been reaped."""
    pgid = process.pid
    try:
        if _signal_group(pgid, signal.SIGTERM):
            deadline = time.monotonic() + grace
            while group_alive(pgid) and time.monotonic() < deadline:
                await asyncio.sleep(_GROUP_POLL)
            if group_alive(pgid):
                _signal_group(pgid, signal.SIGKILL)
    finally:
        _keeper.forget(pgid)
    await _release(process)


async def _release(process: asyncio.subprocess.Process) -> None:
    """Once the group is gone its pipes close and asyncio closes the transport (and reaps the child). A
    process that left the group (a daemon) may still hold a pipe: then the transport is closed here."""
    try:
        await asyncio.wait_for(process.wait(), _RELEASE_WAIT)
    except TimeoutError:
        transport = getattr(process, "_transport", None)  # not public: only this closes what a daemon holds
        if transport is not None:
            transport.close()


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal the group; False when it is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its uid: signal what we may, and treat the rest as gone
        logger.warning("no permission to signal every process of group %d", pgid)
    return True


def _death_signal(parent: int) -> Any:
    """The `preexec_fn` that makes the child receive SIGKILL when the spawning thread ends (Linux only).

    Runs in the child between fork and exec: only a pre-bound C call and two syscalls, no allocation
    worth the name. If the parent already died before the call, nobody would signal the child: it exits."""
    prctl = _prctl()
    if prctl is None:
        return None

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


def die_with(parent: int) -> None:
    """Make this process receive SIGKILL when `parent` (the thread of it that started this one) ends; exit
    at once if it already has. For processes started by someone else's code (uvicorn's worker supervisor),
    called first thing in the child. No-op off Linux."""
    hook = _death_signal(parent)
    if hook is not None:
        hook()


def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_ulong]
    function.restype = ctypes.c_int
    return function


class _Keeper:
    """The keeper process of this gateway process (`keeper.py`), started with the first child.

    It reads `+PGID` / `-PGID` lines; end of file (the gateway is gone, however it went) makes it end
    every group still registered. Writes are a few bytes to a pipe the keeper drains at once."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._owner = 0  # the pid that started the keeper: a forked copy of the gateway must start its own

    def register(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        with self._lock:
            try:
                stdin = self._running().stdin
                assert stdin is not None
                stdin.write(line.encode())
                stdin.flush()
            except (OSError, ValueError) as exc:  # the keeper is gone: the death signal still covers the child
                logger.warning("child-process keeper unavailable (%s); helpers may outlive a killed gateway", exc)
                self._process = None

    def _running(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is None or process.poll() is not None or self._owner != os.getpid():
            # Its own session: a signal to the gateway's process group (Ctrl-C, `kill -- -PGID`) must not
            # take the keeper with the gateway; it has to outlive it to clean up.
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_KEEPER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._process, self._owner = process, os.getpid()
        return process

    def close(self) -> None:
        """At a clean exit: end-of-file tells the keeper to end what is still registered (normally nothing)
        and exit; it is reaped here, so no process outlives this one by accident."""
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=END_GRACE + 1.0)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    @property
    def pid(self) -> int | None:
        """The keeper's pid while it runs (for tests and diagnostics)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None


_keeper = _Keeper()
atexit.register(_keeper.close)


def keeper_pid() -> int | None:
    """The pid of this process's keeper, if one runs."""
    return _keeper.pid
