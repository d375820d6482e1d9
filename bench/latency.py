"""p50/p90/p99 of sequential `tools/call` round trips: direct to an upstream vs. through mcp-guard.

Both paths use the same upstream process (examples/servers/notes_server.py over streamable HTTP) and the
same client (`mcp.Client`, 2026-07-28 protocol) in one run, so the ratio is meaningful on a noisy machine.
The gateway runs standalone (uvicorn, its own process), with no governance middleware yet.

    .venv/bin/python bench/latency.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import anyio
import yaml
from mcp import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import ServerProcess, free_port  # noqa: E402
from tests.support.servers import notes_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"


async def measure(url: str, tool: str, calls: int, warmup: int = 50) -> list[float]:
    async with Client(url) as client:
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


def summary(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100)
    return {"p50_ms": round(q[49], 3), "p90_ms": round(q[89], 3), "p99_ms": round(q[98], 3)}


async def main(calls: int) -> dict[str, object]:
    async with notes_server("http") as upstream:
        config = RESULTS / "latency-gateway.tmp.yaml"
        config.write_text(yaml.safe_dump({"servers": {"notes": {"transport": "http", "url": upstream.url}}}))
        port = free_port()
        argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
        async with ServerProcess(argv, port=port, path="/mcp") as gateway:
            direct = summary(await measure(upstream.url, "echo", calls))
            through = summary(await measure(gateway.url, "notes__echo", calls))
        config.unlink()
    return {
        "benchmark": "latency",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, shared 2-core VM",
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
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'path':<10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}")
    for path in ("direct", "gateway"):
        row = report[path]
        print(f"{path:<10}{row['p50_ms']:>10}{row['p90_ms']:>10}{row['p99_ms']:>10}")
    print(f"added p50: {report['added_p50_ms']} ms  (ratio {report['ratio_p50']}x)")
