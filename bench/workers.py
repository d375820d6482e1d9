"""`mcp-guard serve --workers N`: 1 against 2 workers in the same run, at 16 concurrent sessions.

Both set-ups read the same configuration (tests/scaleout/cluster.py): rate limits and budgets in Redis, keys
and audit in PostgreSQL, a priced in-process tool (budgets at two tiers, a rate-limit rule, an audit record
per call). The load is 16 keep-alive connections, each calling REST `POST /mcp/tool/execute` in a loop, from
this process. CPU per call is the CPU time of every gateway process (supervisor and workers) over the
measured calls, read from /proc; `x-mcp-guard-worker` shows how the kernel spread the calls.

The machine has 2 cores shared by this load generator, the gateway, Redis and PostgreSQL: the gain from a
second worker is bounded by that, not by the design. What N workers would do is read from CPU per call:
throughput ≈ N cores / CPU per call while the cores are there (and the stores keep up).

    .venv/bin/python bench/workers.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import run_label, write_result  # noqa: E402
from _procs import cpu_seconds  # noqa: E402
from tests.scaleout.cluster import Deployment  # noqa: E402
from tests.support.processes import ServerProcess, free_port  # noqa: E402

from mcp_guard.children import live_members  # noqa: E402

SESSIONS = 16
WARMUP = 300


def _config(deployment: Deployment) -> dict[str, Any]:
    config = deployment.config(
        customers={"acme": {"budget": {"limit": 1_000_000.0, "period": "1d"}}},
        teams={"spenders": {"customer": "acme", "budget": {"limit": 1_000_000.0, "period": "1d"}}},
        rate_limits={"rules": [{"limit": "10000000/minute", "tools": "work/*"}]},
    )
    config["confirmations"] = {"storage": f"{deployment.redis_url}?prefix={deployment.name}:confirm"}
    return config


async def drive(base_url: str, key: str, calls: int) -> Counter[str]:
    """`calls` priced calls over `SESSIONS` keep-alive connections; how many each worker answered."""
    limits = httpx2.Limits(max_connections=SESSIONS, max_keepalive_connections=SESSIONS)
    body = {"id": "c", "type": "function", "function": {"name": "work/priced", "arguments": '{"text": "x"}'}}
    answered: Counter[str] = Counter()
    next_call = iter(range(calls))
    async with httpx2.AsyncClient(limits=limits, timeout=60.0, headers={"authorization": f"Bearer {key}"}) as http:

        async def session() -> None:
            for _ in next_call:
                response = await http.post(f"{base_url}/mcp/tool/execute", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"call failed: {response.status_code} {response.text}")
                answered[response.headers.get("x-mcp-guard-worker", "single")] += 1

        async with anyio.create_task_group() as group:
            for _ in range(SESSIONS):
                group.start_soon(session)
    return answered


def _gateway_cpu(group: int) -> float:
    total = 0.0
    for pid in live_members(group):
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass  # ended between the listing and the read
    return total


async def measure(workers: int, calls: int) -> dict[str, Any]:
    deployment = Deployment()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateway.yaml"
        path.write_text(yaml.safe_dump(_config(deployment)))
        port = free_port()
        argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port)]
        process = ServerProcess(
            [*argv, "--workers", str(workers)], port=port, env={"PYTHONPATH": str(ROOT)}, cwd=Path(tmp)
        )
        process.start()
        try:
            while "mcp-guard: MCP endpoint" not in process.log():
                await anyio.sleep(0.1)
            key = deployment.keys["faulty"]
            await drive(process.base_url, key, WARMUP)
            assert process.pid is not None
            cpu_before, started = _gateway_cpu(process.pid), time.perf_counter()
            answered = await drive(process.base_url, key, calls)
            elapsed, cpu = time.perf_counter() - started, _gateway_cpu(process.pid) - cpu_before
        finally:
            process.stop()
            deployment.cleanup()
    return {
        "workers": workers,
        "calls": calls,
        "calls_per_s": round(calls / elapsed, 1),
        "cpu_ms_per_call": round(cpu / calls * 1000, 3),
        "calls_per_worker": sorted(answered.values(), reverse=True),
    }


async def main(calls: int) -> dict[str, Any]:
    rows = [await measure(workers, calls) for workers in (1, 2)]
    for row in rows:
        row["vs_1_worker"] = round(row["calls_per_s"] / rows[0]["calls_per_s"], 2)
        row["cpu_vs_1_worker"] = round(row["cpu_ms_per_call"] / rows[0]["cpu_ms_per_call"], 2)
    per_call = rows[-1]["cpu_ms_per_call"] / 1000
    # 8 workers on 8 free cores: each core does 1 / (CPU per call) calls a second, at best
    eight = round(8 / per_call) if per_call else None
    return {"benchmark": "workers", **run_label(), "sessions": SESSIONS, "rows": rows, "ceiling_8_cores": eight}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    result = anyio.run(main, options.calls)
    write_result("workers", result)
    print(yaml.safe_dump(result, sort_keys=False))
