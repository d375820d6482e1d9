"""What Code Mode adds to a tool call: `execute` with three tool calls vs. the same calls made directly.

The tool callback is in-process and immediate (it returns a small JSON object), so the difference is
Code Mode's own cost: type stripping, a fresh V8 context with the hardened runtime, the pump/deliver
rounds and building the result. Runs are interleaved (direct, then Code Mode) after a warm-up, so both
see the same machine noise. Two programs: three sequential awaits (three rounds) and one Promise.all.
Target: ≤ 5 ms added at p50. Since issue 17 programs run in a worker process (one worker here, at the
pool's niceness), so on a machine busy with other work the wall-clock figure mostly measures waiting for a
core; the CPU both processes spend per execution (gateway + worker, from /proc) is reported next to it.

    .venv/bin/python bench/codemode_overhead.py [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_label, write_result  # noqa: E402
from _procs import cpu_seconds  # noqa: E402

from mcp_guard.codemode import ToolOutcome, WorkerPool, execute  # noqa: E402

SERVERS = {"inventory": ["get_item"]}
PROGRAMS = {
    "sequential": (
        "const a = await inventory.getItem({ id: 1 });\n"
        "const b = await inventory.getItem({ id: 2 });\n"
        "const c = await inventory.getItem({ id: 3 });\n"
        "return a.price + b.price + c.price;"
    ),
    "promise_all": (
        "const items = await Promise.all([1, 2, 3].map((id) => inventory.getItem({ id })));\n"
        "return items.reduce((sum: number, item: any) => sum + item.price, 0);"
    ),
}


async def get_item(server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
    return ToolOutcome(value={"id": arguments["id"], "name": f"item {arguments['id']}", "price": 10})


async def direct() -> float:
    started = time.perf_counter()
    total = 0
    for item_id in (1, 2, 3):
        total += (await get_item("inventory", "get_item", {"id": item_id})).value["price"]
    return (time.perf_counter() - started) * 1000.0


POOL = WorkerPool(size=1, runs_per_worker=100_000)


def cpu_now() -> float:
    """CPU seconds of this process and of the pool's worker (in clock ticks: read it over many runs)."""
    return time.process_time() + sum(cpu_seconds(worker.pid) for worker in POOL._idle)


async def code_mode(program: str) -> float:
    started = time.perf_counter()
    result = await execute(program, servers=SERVERS, call_tool=get_item, pool=POOL)
    elapsed = (time.perf_counter() - started) * 1000.0
    if result.value != 30:
        raise RuntimeError(f"unexpected result {result.to_dict()!r}")
    return elapsed


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p90": round(ordered[int(len(ordered) * 0.9) - 1], 3),
        "p99": round(ordered[max(int(len(ordered) * 0.99) - 1, 0)], 3),
    }


async def run(runs: int, warmup: int = 20) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for name, program in PROGRAMS.items():
        for _ in range(warmup):
            await direct()
            await code_mode(program)
        direct_ms, code_ms, cpu = [], [], 0.0
        for _ in range(runs):
            direct_ms.append(await direct())
            before = cpu_now()
            code_ms.append(await code_mode(program))
            cpu += cpu_now() - before
        base, mode = percentiles(direct_ms), percentiles(code_ms)
        report[name] = {
            "direct_ms": base,
            "code_mode_ms": mode,
            "added_p50_ms": round(mode["p50"] - base["p50"], 3),
            "cpu_per_execution_ms": round(cpu * 1000.0 / runs, 3),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    report = asyncio.run(run(args.runs))
    POOL.close()
    print(f"{'program':<12} {'direct p50':>11} {'code p50':>9} {'code p90':>9} {'added p50':>10} {'CPU/exec':>9}")
    for name, row in report.items():
        print(
            f"{name:<12} {row['direct_ms']['p50']:>9.3f}ms {row['code_mode_ms']['p50']:>7.3f}ms "
            f"{row['code_mode_ms']['p90']:>7.3f}ms {row['added_p50_ms']:>8.3f}ms {row['cpu_per_execution_ms']:>7.3f}ms"
        )
    path = write_result(
        "codemode_overhead",
        {**run_label(), "runs": args.runs, "target_added_p50_ms": 5.0, "programs": PROGRAMS, "results": report},
    )
    print(f"wrote {path.relative_to(Path(__file__).resolve().parents[1])}")


if __name__ == "__main__":
    main()
