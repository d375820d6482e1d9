"""Governed `tools/call` latency of this checkout against another checkout's gateway, in the same run.

Two standalone gateways (this tree and `--baseline TREE`, e.g. a worktree of the parent commit), each
with the full governance stack of `latency.py`, in front of one notes example server; the same 2026-07-28
client calls them in alternating rounds. Reported: p50 latency, the median of the rounds' p50 ratios, and
the CPU time each gateway process spent per call (barely moved by other load on a shared machine, unlike
latency), so a change to the call path is measured against its parent in the same run.

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

WARMUP = 50  # calls `measure` makes before the timed ones (they cost the gateway CPU too)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (Linux `/proc`): unlike latency, barely moved by other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_process(tree: Path, config: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
    return ServerProcess(argv, port=port, path="/mcp", env={**os.environ, "PYTHONPATH": str(tree / "src")})


async def main(baseline: Path, calls: int, rounds: int) -> dict[str, object]:
    key = generate_key()
    samples: dict[str, list[float]] = {"baseline": [], "this": []}
    ratios: list[float] = []
    cpu_per_call: dict[str, list[float]] = {"baseline": [], "this": []}  # the gateway process's, µs
    async with notes_server("http") as upstream:
        config = RESULTS / "call-baseline.tmp.yaml"
        document = governed_config(upstream.url, key)
        document["audit"] = {"sink": "memory://"}  # the two gateways must not share one SQLite file
        config.write_text(yaml.safe_dump(document))
        async with gateway_process(baseline, config) as before, gateway_process(ROOT, config) as after:
            for _ in range(rounds):
                cpu = cpu_seconds(before.pid)
                before_round = await measure(before.url, "notes__echo", calls, key=key)
                cpu_per_call["baseline"].append((cpu_seconds(before.pid) - cpu) / (calls + WARMUP) * 1e6)
                cpu = cpu_seconds(after.pid)
                after_round = await measure(after.url, "notes__echo", calls, key=key)
                cpu_per_call["this"].append((cpu_seconds(after.pid) - cpu) / (calls + WARMUP) * 1e6)
                samples["baseline"] += before_round
                samples["this"] += after_round
                # the machine's load drifts between rounds: the ratio of each pair of adjacent rounds is robust
                ratios.append(statistics.median(after_round) / statistics.median(before_round))
        config.unlink()
    p50 = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    return {
        "benchmark": "call_baseline",
        **run_label(),
        "baseline": str(baseline),
        "calls": calls * rounds,
        "p50_ms": p50,
        "ratio_p50": round(p50["this"] / p50["baseline"], 3),
        "median_round_ratio": round(statistics.median(ratios), 3),
        "cpu_us_per_call": {name: round(statistics.median(values), 1) for name, values in cpu_per_call.items()},
        "cpu_ratio": round(statistics.median(cpu_per_call["this"]) / statistics.median(cpu_per_call["baseline"]), 3),
        "round_ratios": [round(r, 3) for r in ratios],
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
        f"ratio {report['ratio_p50']}; median of the rounds' ratios {report['median_round_ratio']}; "
        f"gateway CPU per call {report['cpu_us_per_call']} µs, ratio {report['cpu_ratio']}"
    )
