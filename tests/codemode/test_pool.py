"""The worker pool: V8 never in this process, workers started lazily, bounded, recycled, and gone with us."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mcp_guard.codemode import CodeModeSettings, ToolOutcome, WorkerPool, execute

pytestmark = pytest.mark.anyio


async def no_tools(server: str, tool: str, arguments: dict[str, object]) -> ToolOutcome:
    raise AssertionError("no tool is called")


async def run(pool: WorkerPool, code: str, **limits: float) -> tuple[bool, Any]:
    result = await execute(code, servers={}, call_tool=no_tools, settings=CodeModeSettings(**limits), pool=pool)
    return result.ok, result.value if result.ok else result.error


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def workers_of(parent: int) -> list[int]:
    """The Code Mode workers `parent` started (from any of its threads)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and "codemode.worker" in (stat.parent / "cmdline").read_text():
                found.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return found


_ENGINE_PROBE = """
import asyncio, sys
from mcp_guard.codemode import ToolOutcome, execute

async def echo(server, tool, arguments):
    return ToolOutcome(value=arguments)

result = asyncio.run(execute("return await t.echo({ n: 6 * 7 });", servers={"t": ["echo"]}, call_tool=echo))
print(result.value, "py_mini_racer" in sys.modules, "tree_sitter" in sys.modules)
"""


def test_v8_and_the_parser_run_in_worker_processes_only() -> None:
    done = subprocess.run([sys.executable, "-c", _ENGINE_PROBE], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["{'n':", "42}", "False", "False"], done.stderr[-2000:]


async def test_a_worker_is_reused_then_replaced_after_its_runs() -> None:
    pool = WorkerPool(size=1, runs_per_worker=3)
    try:
        pids = [(await run(pool, "return 1;"), _worker_pids(pool)) for _ in range(4)]
        first = pids[0][1]
        assert pids[1][1] == first and pids[2][1] != first or pids[3][1] != first
    finally:
        pool.close()


def _worker_pids(pool: WorkerPool) -> tuple[int, ...]:
    return tuple(sorted(w.pid for w in pool._idle))


async def test_a_crashed_worker_is_replaced_and_the_pool_keeps_serving() -> None:
    pool = WorkerPool(size=1)
    try:
        ok, error = await run(pool, "Array.prototype.sort.call({ length: 2 ** 32 - 1 });")
        assert not ok and error.kind == "memory"
        assert "worker process was stopped" in error.message
        assert await run(pool, "return 'after';") == (True, "after")
    finally:
        pool.close()


async def test_a_hung_worker_is_killed_at_the_deadline() -> None:
    pool = WorkerPool(size=1)
    try:
        started = time.perf_counter()
        ok, error = await run(pool, "Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 'x');", timeout_seconds=1)
        assert not ok and error.kind == "timeout"
        assert time.perf_counter() - started < 1 + 2 + 2  # timeout + the gateway's grace + slack
    finally:
        pool.close()


async def test_executions_beyond_the_pool_size_wait_for_a_worker() -> None:
    pool = WorkerPool(size=2)
    try:
        await run(pool, "return 0;")  # start-up out of the way
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(run(pool, "await new Promise((r) => setTimeout(r, 300)); return 1;") for _ in range(4))
        )
        elapsed = time.perf_counter() - started
        assert outcomes == [(True, 1)] * 4
        assert elapsed >= 0.6  # two rounds of two
        assert pool._live <= 2
    finally:
        pool.close()


async def test_close_kills_every_worker() -> None:
    pool = WorkerPool(size=2)
    await asyncio.gather(run(pool, "return 1;"), run(pool, "return 2;"))
    pids = [w.pid for w in pool._idle]
    assert pids and all(alive(pid) for pid in pids)
    pool.close()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


_GATEWAY = """
import asyncio, sys
from mcp_guard.codemode import ToolOutcome, WorkerPool, execute

async def no_tools(server, tool, arguments):
    return ToolOutcome(value=None)

async def main():
    pool = WorkerPool(size=2)
    running = asyncio.ensure_future(execute("while (true) {}", servers={}, call_tool=no_tools, pool=pool))
    await asyncio.sleep(1.5)
    print(" ".join(str(w.pid) for w in pool._idle), flush=True)  # the spare worker
    await running

asyncio.run(main())
"""


def test_workers_die_with_a_gateway_killed_by_sigkill() -> None:
    gateway = subprocess.Popen([sys.executable, "-c", _GATEWAY], stdout=subprocess.PIPE, text=True)
    try:
        assert gateway.stdout is not None
        spare = [int(pid) for pid in gateway.stdout.readline().split()]
        workers = workers_of(gateway.pid)
        assert len(workers) == 2 and set(spare) <= set(workers)  # one busy spinning, one spare
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers)
    finally:
        gateway.kill()
        gateway.wait()
        if gateway.stdout is not None:
            gateway.stdout.close()
