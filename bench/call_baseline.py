"""Governed `tools/call` latency of this checkout against another checkout's gateway, in the same run.

Two standalone gateways (this tree and `--baseline TREE`, e.g. a worktree of `main`), each with the full
governance stack of `latency.py`, in front of one notes example server; the same 2026-07-28 client
calls them in alternating rounds, so a change to the call path (here: the fast path watching for a client
that goes away, to cancel its call) is measured against its parent on the same noisy machine.

    .venv/bin/python bench/call_baseline.py --baseline /work/main [--calls 500] [--rounds 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import anyio
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import RESULTS, run_label, write_result  # noqa: E402
from latency import governed_config, measure  # noqa: E402
from tests.support.processes import ServerProcess, free_port  # noqa: E402
from tests.support.servers import notes_server  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402


def gateway_process(tree: Path, config: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
    return ServerProcess(argv, port=port, path="/mcp", env={**os.environ, "PYTHONPATH": str(tree / "src")})


async def main(baseline: Path, calls: int, rounds: int) -> dict[str, object]:
    key = generate_key()
    samples: dict[str, list[float]] = {"baseline": [], "this": []}
    async with notes_server("http") as upstream:
        config = RESULTS / "call-baseline.tmp.yaml"
        document = governed_config(upstream.url, key)
        document["audit"] = {"sink": "memory://"}  # the two gateways must not share one SQLite file
        config.write_text(yaml.safe_dump(document))
        async with gateway_process(baseline, config) as before, gateway_process(ROOT, config) as after:
            for _ in range(rounds):
                samples["baseline"] += await measure(before.url, "notes__echo", calls, key=key)
                samples["this"] += await measure(after.url, "notes__echo", calls, key=key)
        config.unlink()
    p50 = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    return {
        "benchmark": "call_baseline",
        **run_label(),
        "baseline": str(baseline),
        "calls": calls * rounds,
        "p50_ms": p50,
        "ratio_p50": round(p50["this"] / p50["baseline"], 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    report = anyio.run(main, args.baseline.resolve(), args.calls, args.rounds)
    write_result("call_baseline", report)
    print(
        f"p50 baseline {report['p50_ms']['baseline']} ms, this tree {report['p50_ms']['this']} ms, "  # type: ignore[index]
        f"ratio {report['ratio_p50']}"
    )
