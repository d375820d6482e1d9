"""Test server subprocesses on loopback ports, each in its own process group.

A `ServerProcess` owns one command line and one port. It can be started,
stopped and started again on the same port (an upstream that goes away and
comes back), and it is a sync and an async context manager. Stopping always
signals the whole process group, so wrappers such as `npx` or `node` children
never outlive a test; and each group is adopted by the gateway's child-process
keeper (`mcp_guard.children.adopt`), so none outlives a test run that is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import anyio
import anyio.to_thread

from mcp_guard.children import adopt, release

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A test server did not start listening; the message carries its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = LOOPBACK) -> bool:
    """Whether something accepts TCP connections on `host:port`."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def kill_process_group(process: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after `grace` seconds, reap the leader."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    # Children that ignored SIGTERM, or outlived their leader, go too.
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


class ServerProcess:
    """A server command listening on a fixed loopback port.

    `url` is `http://127.0.0.1:<port><path>`. Use `with` / `async with` to
    start it and stop it on exit, or call `start`, `stop`, `kill` and
    `restart` (and their `a`-prefixed async forms) directly.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        path: str = "/mcp",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.argv = list(argv)
        self.port = port
        self.path = path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.output = ""
        """Combined stdout and stderr of the last run, filled in when it stops."""
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """The MCP endpoint: base URL plus `path`."""
        return self.base_url + self.path

    @property
    def pid(self) -> int | None:
        """The process id (also the process group id) while running."""
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Launch the command and wait until the port accepts connections."""
        if self.running:
            raise RuntimeError(f"server already running: {self.argv!r}")
        if port_is_open(self.port):
            raise ServerStartError(f"port {self.port} is already in use")
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, **self.env} if self.env is not None else None
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
            start_new_session=True,
        )
        adopt(self.process.pid)
        try:
            self._wait_until_listening(self.process)
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise ServerStartError(f"{self.argv!r} exited with code {code}:\n{self._read_log()}")
            if port_is_open(self.port):
                return
            time.sleep(0.05)
        waited = f"{self.argv!r} did not listen on port {self.port} within {self.startup_timeout}s"
        raise ServerStartError(f"{waited}:\n{self._read_log()}")

    def log(self) -> str:
        """Combined stdout and stderr so far (while running) or of the last run."""
        return self._read_log()

    def _read_log(self) -> str:
        if self._log is None:
            return self.output
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self, grace: float = 3.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after `grace` seconds."""
        if self.process is not None:
            kill_process_group(self.process, grace)
            release(self.process.pid)
            self.process = None
        if self._log is not None:
            self.output = self._read_log()
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Stop at once with SIGKILL, as a crash would."""
        self.stop(grace=0)

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()

    async def astart(self) -> None:
        """`start` without blocking the event loop."""
        try:
            await anyio.to_thread.run_sync(self.start)
        except BaseException:
            # Cancelled while the thread was starting it: nobody else would stop it.
            await self.astop()
            raise

    async def astop(self, grace: float = 3.0) -> None:
        """`stop` without blocking the event loop; runs even inside a cancelled scope."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop, grace)

    async def akill(self) -> None:
        """`kill` without blocking the event loop."""
        await self.astop(grace=0)

    async def arestart(self) -> None:
        """`restart` without blocking the event loop."""
        await self.astop()
        await self.astart()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ServerProcess:
        await self.astart()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    def __repr__(self) -> str:
        return f"ServerProcess({self.argv!r}, url={self.url!r}, pid={self.pid!r})"
