"""A standalone gateway in front of real published servers, under a bounded load, while upstreams are
restarted and killed: what the chaos test asserts and `bench/chaos.py` measures at length.

`ChaosRun` starts `mcp-guard serve` (audit in SQLite) with four upstreams:

- `web`: npm server-everything over streamable HTTP (session-based, 2025-11-25), restarted on its port;
- `helper`: npm server-everything over stdio behind `sh -c "sleep 600 & exec node ..."`, a helper
  grandchild that holds the server's pipes;
- `npx`: npm server-everything over stdio, launched through `npx` (npm exec → sh → node);
- `time`: PyPI mcp-server-time over stdio, never touched: the control.

Load threads call every upstream in turn over REST; a poller reads `GET /servers` every 50 ms. Every
process group the gateway starts is recorded, to check afterwards that nothing of it is left.
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml

from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.children import live_members

from .node import NODE_DIR, ensure_node_modules
from .processes import ServerProcess, free_port
from .servers import everything_server, everything_stdio_params, time_stdio_params

TOOLS = {  # upstream → (tool, arguments, text the answer contains)
    "web": ("web__echo", {"message": "ping"}, "ping"),
    "helper": ("helper__echo", {"message": "ping"}, "ping"),
    "npx": ("npx__echo", {"message": "ping"}, "ping"),
    "time": ("time__get_current_time", {"timezone": "UTC"}, "UTC"),
}
POLL = 0.05


@dataclass
class Call:
    upstream: str
    started: float
    ended: float
    ok: bool
    status: int  # HTTP status; 0 when the request itself failed


@dataclass
class ChaosRun:
    directory: Path
    workers: int = 3
    pace: float = 0.01  # seconds between one worker's calls
    key: str = field(default_factory=generate_key)
    calls: list[Call] = field(default_factory=list)
    states: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    groups: set[int] = field(default_factory=set)  # every process group the gateway started
    gateway: ServerProcess | None = None
    web: ServerProcess | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def audit_db(self) -> Path:
        return self.directory / "audit.db"

    def config(self, web_url: str) -> dict[str, Any]:
        everything, clock = everything_stdio_params(), time_stdio_params()
        helper = f"sleep 600 & exec {everything.command} {' '.join(everything.args)}"
        npx = {"transport": "stdio", "command": "npx", "args": ["--no-install", "mcp-server-everything", "stdio"]}
        return {
            "servers": {
                "web": {"transport": "http", "url": web_url, "call_timeout": 5, "connect_timeout": 5},
                "helper": {"transport": "stdio", "command": "sh", "args": ["-c", helper], "call_timeout": 5},
                "npx": {**npx, "cwd": str(NODE_DIR), "call_timeout": 5},
                "time": {"transport": "stdio", "command": clock.command, "args": clock.args, "call_timeout": 5},
            },
            "roles": {"admin": {"tools": ["*"], "admin": True}},
            "keys": [{"name": "chaos", "hash": hash_key(self.key), "roles": ["admin"]}],
            "auth": {"store": "memory://"},
            "audit": {"sink": f"sqlite:///{self.audit_db}"},
        }

    @contextmanager
    def running(self) -> Iterator[ChaosRun]:
        """Upstreams and the gateway up, load and poller running; on exit the gateway is stopped (SIGTERM)."""
        ensure_node_modules()
        with everything_server("http") as web:
            self.web = web
            path = self.directory / "gateway.yaml"
            path.write_text(yaml.safe_dump(self.config(web.url)))
            port = free_port()
            argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port)]
            self.gateway = ServerProcess(argv, port=port, path="/mcp", cwd=self.directory, startup_timeout=60)
            self.gateway.start()
            threads = [threading.Thread(target=self._load, daemon=True) for _ in range(self.workers)]
            threads.append(threading.Thread(target=self._poll, daemon=True))
            try:
                self.wait_all_connected(60)
                for thread in threads:
                    thread.start()
                yield self
            finally:
                self._stop.set()
                for thread in threads:
                    if thread.is_alive():
                        thread.join(timeout=15)
                self.record_groups()
                self.gateway.stop(grace=15)  # a stop, as an operator's: SIGTERM, then a clean shutdown

    # -- what runs meanwhile ------------------------------------------------------------------------

    def _client(self) -> httpx2.Client:
        assert self.gateway is not None
        return httpx2.Client(base_url=self.gateway.url, timeout=15, headers={"authorization": f"Bearer {self.key}"})

    def _load(self) -> None:
        with self._client() as http:
            while not self._stop.is_set():
                for upstream, (tool, arguments, expected) in TOOLS.items():
                    started = time.monotonic()
                    body = {"id": "1", "type": "function", "function": {"name": tool, "arguments": arguments}}
                    try:
                        response = http.post("/tool/execute", json=body)
                        ok = response.status_code == 200 and expected in response.json().get("content", "")
                        status = response.status_code
                    except httpx2.HTTPError:
                        ok, status = False, 0
                    self.calls.append(Call(upstream, started, time.monotonic(), ok, status))
                    time.sleep(self.pace)

    def _poll(self) -> None:
        with self._client() as http:
            while not self._stop.is_set():
                self.states.append((time.monotonic(), self.server_states(http)))
                self.record_groups()
                time.sleep(POLL)

    # -- observations -------------------------------------------------------------------------------

    def server_states(self, http: httpx2.Client | None = None) -> dict[str, str]:
        if http is None:
            with self._client() as own:
                return self.server_states(own)
        servers = http.get("/servers").json()["servers"]
        return {s["name"]: s["state"] for s in servers}

    def wait_all_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(self.server_states().values()) == {"connected"}:
                return
            time.sleep(0.1)
        raise AssertionError(f"upstreams not connected after {timeout} s: {self.server_states()}")

    def record_groups(self) -> None:
        """Note the process group of every child of the gateway (each stdio server leads its own)."""
        assert self.gateway is not None and self.gateway.pid is not None
        for pid, _ in children_of(self.gateway.pid):
            try:
                self.groups.add(os.getpgid(pid))
            except ProcessLookupError:
                pass

    def leader(self, upstream: str, timeout: float = 30) -> int:
        """The pid of the process leading `upstream`'s group (the gateway's child), once it is connected."""
        assert self.gateway is not None and self.gateway.pid is not None
        marks = {"helper": "loopback.cjs", "npx": "npm exec", "time": "mcp-server-time"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server_states().get(upstream) == "connected":
                for pid, command in children_of(self.gateway.pid):
                    if marks[upstream] in command:
                        return pid
            time.sleep(0.05)
        raise LookupError(f"no connected process of {upstream!r} among the gateway's children")

    def kill_and_time(self, upstreams: list[str]) -> dict[str, tuple[float, float]]:
        """SIGKILL each upstream's server at once; per upstream, (seconds until the gateway showed it not
        connected, seconds until a call was served again). A call counts only if it started after the exit
        was noticed: before that, npx's node (still alive when npm is killed) may answer."""
        killed = {upstream: kill(self.leader(upstream)) for upstream in upstreams}
        windows = {}
        for upstream, when in killed.items():
            noticed = self.first_state_after(upstream, when, {"disconnected", "connecting"})
            windows[upstream] = (noticed - when, self.first_ok_after(upstream, noticed) - when)
        return windows

    def left_behind(self) -> dict[int, list[int]]:
        """Every recorded group that still has a live process, with those processes."""
        return {group: members for group in sorted(self.groups) if (members := live_members(group))}

    # -- windows --------------------------------------------------------------------------------------

    def first_ok_after(self, upstream: str, when: float, timeout: float = 30) -> float:
        """When `upstream` was first seen serving again: the earliest end of a successful call that started
        at or after `when` (waits for it). A call may have waited in the gateway for the reconnection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [c.ended for c in list(self.calls) if c.upstream == upstream and c.started >= when and c.ok]
            if done:
                return min(done)
            time.sleep(0.02)
        raise AssertionError(f"no successful call to {upstream!r} within {timeout} s of {when}")

    def first_state_after(self, upstream: str, when: float, wanted: set[str], timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = [t for t, states in list(self.states) if t >= when and states.get(upstream) in wanted]
            if seen:
                return min(seen)
            time.sleep(0.02)
        raise AssertionError(f"{upstream!r} never showed {wanted} within {timeout} s")

    def failures(self, upstream: str, since: float = 0.0, until: float = float("inf")) -> list[Call]:
        return [c for c in self.calls if c.upstream == upstream and since <= c.started < until and not c.ok]


def children_of(parent: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `parent` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append((int(entry.name), command))
    return found


def kill(pid: int) -> float:
    """SIGKILL `pid`; the moment it was sent."""
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
