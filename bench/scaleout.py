"""Tool-call throughput with 1, 2 and 4 gateway processes sharing Redis and PostgreSQL, against one process
on the embedded defaults (memory rate limits and budgets, SQLite audit and keys), in the same run.

Every call goes through the whole governance stack: key auth, a rate-limit rule, a budget reservation at
two tiers (customer, team) and its settlement, and an audit record. The tool is in-process
(`tests/scaleout/tools.py`), so the numbers are the gateway's own cost. Calls are REST
`POST /mcp/tool/execute`, `--concurrency` at a time, spread round robin over the processes by one client
process; `drained` is when the last audit record was durably stored.

The machine has 2 cores shared by the client, the gateways, Redis and PostgreSQL: past two processes the
CPU, not the design, is the limit. Needs the machine's Redis and PostgreSQL (see tests/scaleout/services.py).

    .venv/bin/python bench/scaleout.py [--calls 3000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import run_label, write_result  # noqa: E402
from tests.scaleout.cluster import Deployment, stop  # noqa: E402
from tests.scaleout.services import count_records  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402

WARMUP = 200
SETUPS = [("embedded", 1), ("redis+postgres", 1), ("redis+postgres", 2), ("redis+postgres", 4)]


def config_for(deployment: Deployment, setup: str, directory: Path) -> dict[str, Any]:
    """Huge limits (nothing is refused) on the chosen storages."""
    config = deployment.config(
        customers={"acme": {"budget": {"limit": 1_000_000.0, "period": "1d"}}},
        teams={"spenders": {"customer": "acme", "budget": {"limit": 1_000_000.0, "period": "1d"}}},
        rate_limits={"rules": [{"limit": "10000000/minute", "tools": "work/*"}]},
    )
    if setup == "embedded":
        config["auth"] = {"store": f"sqlite:///{directory / 'keys.db'}"}
        config["rate_limits"] = {**config["rate_limits"], "storage": "memory://"}
        config["budgets"] = {"storage": "memory://"}
        config["audit"] = {"sink": f"sqlite:///{directory / 'audit.db'}", "flush_interval": 0.05}
    return config


async def drive(processes: list[ServerProcess], key: str, calls: int, concurrency: int) -> list[float]:
    """`calls` priced calls, `concurrency` at a time; the latency of each in ms."""
    latencies: list[float] = []
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = {"id": "c", "type": "function", "function": {"name": "work/priced", "arguments": '{"text": "x"}'}}
    headers = {"authorization": f"Bearer {key}"}
    next_call = iter(range(calls))
    async with httpx2.AsyncClient(limits=limits, timeout=60.0, headers=headers) as http:

        async def worker() -> None:
            for index in next_call:
                process = processes[index % len(processes)]
                started = time.perf_counter()
                response = await http.post(f"{process.base_url}/mcp/tool/execute", json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"call failed: {response.status_code} {response.text}")

        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
    return latencies


def stored_records(deployment: Deployment, setup: str, directory: Path) -> int:
    if setup == "embedded":
        with sqlite3.connect(directory / "audit.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0])
    return count_records(deployment.schema)


async def measure(setup: str, count: int, calls: int, concurrency: int) -> dict[str, Any]:
    deployment = Deployment()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        processes = deployment.start(directory, count, config_for(deployment, setup, directory))
        try:
            key = deployment.keys["faulty"]  # team and customer budgets: two tiers per reservation
            await drive(processes, key, WARMUP, concurrency)
            started = time.perf_counter()
            latencies = await drive(processes, key, calls, concurrency)
            elapsed = time.perf_counter() - started
            while stored_records(deployment, setup, directory) < WARMUP + calls:
                await anyio.sleep(0.05)
            drained = time.perf_counter() - started
        finally:
            stop(processes)
            if setup != "embedded":
                deployment.cleanup()
    q = statistics.quantiles(latencies, n=100)
    return {
        "setup": setup,
        "processes": count,
        "calls": calls,
        "seconds": round(elapsed, 2),
        "calls_per_s": round(calls / elapsed, 1),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
        "audit_drained_s": round(drained, 2),
    }


async def main(calls: int, concurrency: int) -> dict[str, Any]:
    rows = [await measure(setup, count, calls, concurrency) for setup, count in SETUPS]
    baseline = rows[0]["calls_per_s"]
    for row in rows:
        row["vs_embedded"] = round(row["calls_per_s"] / baseline, 2)
    return {"benchmark": "scaleout", **run_label(), "concurrency": concurrency, "rows": rows}


def print_table(report: dict[str, Any]) -> None:
    print(f"{'setup':<16}{'procs':>6}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'drained s':>11}{'vs emb.':>9}")
    for row in report["rows"]:
        print(
            f"{row['setup']:<16}{row['processes']:>6}{row['calls_per_s']:>10}{row['p50_ms']:>9}{row['p99_ms']:>9}"
            f"{row['audit_drained_s']:>11}{row['vs_embedded']:>9}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    options = parser.parse_args()
    result = anyio.run(main, options.calls, options.concurrency)
    write_result("scaleout", result)
    print_table(result)
