"""What durable audit records cost: group commit (the default) against the in-memory queue it replaced
and against one transaction per call, per store, in one run.

Governed in-process calls (`gateway.call`: a config key, a rate-limit rule, a priced call on a memory
ledger, the audit log) from `--concurrency` concurrent callers, each calling again as soon as it is
answered, for `--seconds` per measurement. Three audit settings, visited in turn in every round:

- `queued`: `audit.durability: queued` (the default before): a call is answered once its record is
  queued in memory; the writer gathers up to `flush_interval` (0.2 s) and writes a batch. A crash loses
  what is queued.
- `commit` (the default now): answered once the record is committed; concurrent calls share a commit
  (the records that arrive while one batch is being written form the next).
- `per call`: answered once committed, one transaction per record (`batch_size: 1`): what "synchronous"
  costs without group commit.

Stores: SQLite (WAL, `synchronous=FULL`: an fsync per commit), JSON lines (an fsync per batch) and
PostgreSQL on this machine (a commit per batch; skipped when no server answers). Reported: calls/s and
p50/p99 latency per call, and each as a ratio to `queued` in the same round (median over the rounds).

`--http CALLS` adds the scale-out setting over HTTP: one `mcp-guard serve` process on Redis (rate limit,
budgets) and PostgreSQL (keys, audit), `CALLS` priced REST calls 64 at a time (`bench/scaleout.py`'s
client), each audit setting in turn in every round (store `http+postgresql`).

    .venv/bin/python bench/audit_durability.py [--seconds 2] [--rounds 2] [--concurrency 1 32] [--http 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # `tests.scaleout` for `--http`

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from inprocess_pipeline import bench_document, echo, governed_state  # noqa: E402

from mcp_guard import Gateway, InProcessServer  # noqa: E402
from mcp_guard.auth.keys import generate_key  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402

HTTP_CONCURRENCY = 64
POSTGRES_URL = os.environ.get("MCP_GUARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODES: dict[str, dict[str, Any]] = {
    "queued": {"durability": "queued"},
    "commit": {"durability": "commit"},
    "per call": {"durability": "commit", "batch_size": 1},
}


def sinks(workdir: Path, schema: str) -> dict[str, str]:
    found = {"sqlite": f"sqlite:///{workdir / 'audit.db'}", "jsonl": f"jsonl:///{workdir / 'audit.jsonl'}"}
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
        found["postgresql"] = f"{POSTGRES_URL}?schema={schema}"
    except Exception as exc:  # noqa: BLE001 - no server, or no driver: measure the file stores only
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
    return found


async def measure(sink: str, mode: dict[str, Any], seconds: float, concurrency: int) -> dict[str, float]:
    """Calls/s and latency quantiles of governed calls with this audit sink and mode."""
    key = generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        document = bench_document(Path(tmp), key)
        document["audit"] = {"sink": sink, **mode}
        tools = InProcessServer("inproc")
        tools.add(echo)
        gateway = Gateway(parse_config(document), inprocess=[tools])
        state = governed_state(gateway, key)
        latencies: list[int] = []
        arguments = {"text": "x"}

        async def caller(until: float, keep: bool) -> None:
            while time.perf_counter() < until:
                start = time.perf_counter_ns()
                await gateway.call(state(), "inproc__echo", arguments, entry_point="mcp")
                if keep:
                    latencies.append(time.perf_counter_ns() - start)

        async with gateway.lifespan():
            for keep, span in ((False, 0.3), (True, seconds)):  # a short warm-up, then the measurement
                until = time.perf_counter() + span
                async with anyio.create_task_group() as group:
                    for _ in range(concurrency):
                        group.start_soon(caller, until, keep)
    cuts = statistics.quantiles(latencies, n=100)
    return {"calls_per_s": round(len(latencies) / seconds, 1), "p50_ms": cuts[49] / 1e6, "p99_ms": cuts[98] / 1e6}


async def measure_http(mode: dict[str, Any], calls: int) -> dict[str, float]:
    """Calls/s and latency quantiles of priced REST calls through one `mcp-guard serve` on Redis and PostgreSQL."""
    from tests.scaleout.cluster import Deployment, stop

    from scaleout import WARMUP, config_for, drive

    deployment = Deployment()
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(deployment, "redis+postgres", Path(tmp))
        config["audit"] = {"sink": deployment.postgres_sink, **mode}  # `flush_interval` the default, 0.2 s
        processes = deployment.start(Path(tmp), 1, config)
        try:
            key = deployment.keys["faulty"]
            await drive(processes, key, WARMUP, HTTP_CONCURRENCY)
            started = time.perf_counter()
            latencies = await drive(processes, key, calls, HTTP_CONCURRENCY)
            elapsed = time.perf_counter() - started
        finally:
            stop(processes)
            deployment.cleanup()
    cuts = statistics.quantiles(latencies, n=100)
    return {"calls_per_s": round(calls / elapsed, 1), "p50_ms": cuts[49], "p99_ms": cuts[98]}


async def main(seconds: float, rounds: int, levels: list[int], http_calls: int) -> dict[str, Any]:
    schema = f"mcpg_bench_{uuid.uuid4().hex[:8]}"
    samples: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores = sinks(Path(tmp), schema)
        try:
            for round_ in range(rounds):
                for mode, settings in MODES.items() if http_calls and "postgresql" in stores else ():
                    sample = await measure_http(settings, http_calls)
                    samples.setdefault(("http+postgresql", 64, mode), []).append(sample)
                    print(f"round {round_ + 1} http+postgresql x64 {mode}: {sample}", file=sys.stderr)
                for store, sink in stores.items():
                    for concurrency in levels:
                        for mode, settings in MODES.items():
                            sample = await measure(sink, settings, seconds, concurrency)
                            samples.setdefault((store, concurrency, mode), []).append(sample)
                            print(f"round {round_ + 1} {store} x{concurrency} {mode}: {sample}", file=sys.stderr)
        finally:
            if "postgresql" in stores:
                import psycopg

                with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return {
        "benchmark": "audit_durability",
        **run_label(),
        "seconds": seconds,
        "rounds": rounds,
        "rows": summarise(samples, rounds),
    }


def summarise(samples: dict[tuple[str, int, str], list[dict[str, float]]], rounds: int) -> list[dict[str, Any]]:
    """Per store, concurrency and mode: median figures, and the median of the per-round ratios to `queued`."""
    rows = []
    for (store, concurrency, mode), runs in samples.items():
        base = samples[(store, concurrency, "queued")]

        def median(name: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[name] for run in runs)

        def ratio(name: str, runs: list[dict[str, float]] = runs, base: list[dict[str, float]] = base) -> float:
            return round(statistics.median(run[name] / ref[name] for run, ref in zip(runs, base, strict=True)), 2)

        rows.append(
            {
                "store": store,
                "concurrency": concurrency,
                "mode": mode,
                "calls_per_s": round(median("calls_per_s"), 1),
                "p50_ms": round(median("p50_ms"), 3),
                "p99_ms": round(median("p99_ms"), 3),
                "calls_per_s_vs_queued": ratio("calls_per_s"),
                "p50_vs_queued": ratio("p50_ms"),
                "p99_vs_queued": ratio("p99_ms"),
            }
        )
    return rows


def table(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    head = ["store", "callers", "mode", "calls/s", "p50 ms", "p99 ms", "calls/s vs queued", "p50 vs q", "p99 vs q"]
    rows = [
        [
            r["store"],
            r["concurrency"],
            r["mode"],
            r["calls_per_s"],
            r["p50_ms"],
            r["p99_ms"],
            f"{r['calls_per_s_vs_queued']}×",
            f"{r['p50_vs_queued']}×",
            f"{r['p99_vs_queued']}×",
        ]
        for r in result["rows"]
    ]
    return head, rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--http", type=int, default=0, metavar="CALLS", help="also over HTTP (Redis, PostgreSQL)")
    args = parser.parse_args()
    result = anyio.run(main, args.seconds, args.rounds, args.concurrency, args.http)
    head, rows = table(result)
    write_result("audit_durability", result, markdown_report("audit_durability", result, markdown_table(head, rows)))
    print(text_table(head, rows))
