"""Driving a load-generator run from the harness, and measuring the servers while it runs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _loadgen import WireSession
from _procs import cores, cpu_seconds, rss_mb

LOADGEN = Path(__file__).resolve().parent / "_loadgen.py"


class RssPeak(threading.Thread):
    """Samples one process's RSS every 50 ms until stopped; keeps the highest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, rss_mb(pid)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))

    def finish(self) -> float:
        self._halt.set()
        self.join()
        return round(self.peak, 1)


def drive(spec: Mapping[str, Any], watch: Mapping[str, int], rss_pid: int | None = None) -> dict[str, Any]:
    """Run one load-generator process on the load core; add CPU ms per call of every watched process."""
    _server_core, load_core = cores()
    argv = ["taskset", "-c", str(load_core), sys.executable, str(LOADGEN), json.dumps(dict(spec))]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    ready = process.stdout.readline().strip()
    if ready != "READY":
        process.kill()
        raise RuntimeError(f"load generator failed: {ready} {process.communicate()[1][-3000:]}")
    before = {name: cpu_seconds(pid) for name, pid in watch.items()}
    peak = RssPeak(rss_pid) if rss_pid is not None else None
    if peak is not None:
        peak.start()
    process.stdin.write("\n")
    process.stdin.flush()
    out, err = process.communicate(timeout=600)
    after = {name: cpu_seconds(pid) for name, pid in watch.items()}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    calls = max(result["calls"], 1)
    for name in watch:
        result[f"{name}_cpu_ms_per_call"] = round((after[name] - before[name]) * 1000.0 / calls, 3)
        result[f"{name}_cpu_util"] = round((after[name] - before[name]) / result["elapsed_s"], 2)
    if peak is not None:
        result["rss_peak_mb"] = peak.finish()
    return result


def first_call(url: str, tool: str, headers: Mapping[str, str], started_at: float, timeout: float = 60.0) -> float:
    """Seconds from `started_at` (the process's spawn) until a `tools/call` first succeeds."""

    async def poll() -> float:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            session = WireSession(url, tool, dict(headers))
            try:
                await session.connect()
                await session.call()
                return time.perf_counter() - started_at
            except Exception as exc:  # noqa: BLE001 - not up yet: try again shortly
                last = exc
                await asyncio.sleep(0.005)
            finally:
                await session.close()
        raise RuntimeError(f"no successful call to {url} within {timeout} s: {last}")

    return asyncio.run(poll())
