"""p50/p90/p99 of sequential `tools/call` round trips: direct to an upstream vs. through mcp-guard.

Both paths use the same upstream process (examples/servers/notes_server.py over streamable HTTP) and the
same client (`mcp.Client`, 2026-07-28 protocol) in one run, so the ratio is meaningful on a noisy machine.
The gateway runs standalone (uvicorn, its own process) with the full governance stack on: key auth,
header filter, rate limit, budget reservation and SQLite audit.

    .venv/bin/python bench/latency.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio
import httpx2
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import RESULTS, run_label, write_result  # noqa: E402
from tests.support.processes import ServerProcess, free_port  # noqa: E402
from tests.support.servers import notes_server  # noqa: E402

from mcp_guard.auth.keys import generate_key, hash_key  # noqa: E402


async def measure(url: str, tool: str, calls: int, warmup: int = 50, key: str | None = None) -> list[float]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        for _ in range(warmup):
            await client.call_tool(tool, {"text": "x"})
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            result = await client.call_tool(tool, {"text": "x"})
            samples.append((time.perf_counter() - start) * 1000)
            if result.is_error:
                raise RuntimeError(f"call failed: {result.content}")
    return samples


def governed_config(upstream_url: str, key: str) -> dict[str, object]:
    """The full governance stack on: key auth, a rate-limit rule, a priced budget, SQLite audit."""
    return {
        "servers": {"notes": {"transport": "http", "url": upstream_url}},
        "roles": {"bench": {"tools": ["notes/*"]}},
        "teams": {"bench": {"budget": {"limit": 1_000_000, "period": "1d"}}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["bench"], "team": "bench"}],
        "auth": {"store": "memory://"},
        "rate_limits": {"rules": [{"tools": "*", "limit": "1000000/minute"}]},
        "pricing": {"default": 0.0001},
        "audit": {"sink": f"sqlite:///{RESULTS / 'latency-audit.tmp.db'}"},
    }


def summary(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100)
    return {"p50_ms": round(q[49], 3), "p90_ms": round(q[89], 3), "p99_ms": round(q[98], 3)}


async def main(calls: int) -> dict[str, object]:
    async with notes_server("http") as upstream:
        config = RESULTS / "latency-gateway.tmp.yaml"
        key = generate_key()
        config.write_text(yaml.safe_dump(governed_config(upstream.url, key)))
        port = free_port()
        argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
        async with ServerProcess(argv, port=port, path="/mcp") as gateway:
            direct = summary(await measure(upstream.url, "echo", calls))
            through = summary(await measure(gateway.url, "notes__echo", calls, key=key))
        config.unlink()
        for leftover in RESULTS.glob("latency-audit.tmp.db*"):
            leftover.unlink()
    return {
        "benchmark": "latency",
        **run_label(),
        "calls": calls,
        "direct": direct,
        "gateway": through,
        "added_p50_ms": round(through["p50_ms"] - direct["p50_ms"], 3),
        "ratio_p50": round(through["p50_ms"] / direct["p50_ms"], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    report = anyio.run(main, parser.parse_args().calls)
    write_result("latency", report)
    print(f"{'path':<10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
    for path in ("direct", "gateway"):
        row = report[path]
        print(f"{path:<10}{row['p50_ms']:>10}{row['p90_ms']:>10}{row['p99_ms']:>10}")
    print(f"added p50: {report['added_p50_ms']} ms  (ratio {report['ratio_p50']}x)")
