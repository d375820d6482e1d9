"""Benchmark processes pinned to CPU cores, and what `/proc` says about them (CPU time, RSS).

The set-up of issue 8: the system under test (gateway and upstream) on core 0, the load generator on
core 1. Each process starts in its own process group and is stopped with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType
from typing import IO

LOOPBACK = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


_CORES = sorted(os.sched_getaffinity(0))  # read once, before a harness pins itself to the load core


def cores() -> tuple[int, int]:
    """(server core, load-generator core); on a one-core machine both are the same core."""
    return (_CORES[0], _CORES[1]) if len(_CORES) > 1 else (_CORES[0], _CORES[0])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its own threads; not its children)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    """Resident set size in MB (from `/proc/<pid>/statm`)."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 1e6


def rss_file_mb(pid: int) -> float:
    """The file-backed part of the RSS in MB (`RssFile`: mapped pages of the interpreter and extension
    modules). It moves with the page cache, not with the program: shared objects just written (a fresh
    `pip install`) sit in the cache as large folios and a fault maps a whole folio: a gateway's RSS was
    0.8 MB higher here right after its venv's shared objects were rewritten than after a cache drop."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    return text[text.rindex(")") + 2 :].split()  # the command name may contain spaces


class Pinned:
    """A command pinned to `core`, optionally listening on `port`; a context manager."""

    def __init__(self, argv: Sequence[str], *, core: int, port: int | None = None, env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.core = core
        self.port = port
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def start(self) -> Pinned:
        self._log = tempfile.TemporaryFile()
        core = self.core
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(self.env or {})},
            start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {core}),
        )
        return self

    def wait_listening(self, timeout: float = 30.0) -> float:
        """Seconds from start until the port accepts connections."""
        if self.port is None:
            raise ValueError("no port to wait for")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.argv!r} exited:\n{self.output()}")
            if port_is_open(self.port):
                return time.perf_counter() - self.started_at
            time.sleep(0.005)
        raise RuntimeError(f"{self.argv!r} did not listen on {self.port}:\n{self.output()}")

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.process.pid, sig)
                    self.process.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Pinned:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
