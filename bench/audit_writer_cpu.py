"""CPU per audit record of the `AuditLog` writer (SQLite), this tree against another checkout's, in process.

16 tasks stand in for concurrent tool calls: each waits `--gap` seconds (the upstream's round trip), then
records one call as the pipeline does (`AuditLog.record`, with `durability: queued` or `commit`). The
figure is the process's CPU time (every thread: the event loop and the writer's worker threads) per record,
which includes the tasks' own waiting, the same in both trees; each round runs both trees in subprocesses,
in turn, so a busy machine slows both alike. Compare the trees' ratio, not the absolute figures.

    .venv/bin/python bench/audit_writer_cpu.py --baseline /tmp/main-tree [--records 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402

CHILD = r"""
import asyncio, json, os, sys, time
from mcp_guard.audit.config import AuditSettings
from mcp_guard.audit.log import AuditLog
from mcp_guard.audit.record import AuditRecord

durability, records, gap, path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]

def record(number):
    return AuditRecord(time=time.time(), request_id=os.urandom(8).hex(), call_id=os.urandom(8).hex(),
                       server="echo", tool="echo", decision="allowed", outcome="ok", key_id="k1", key_name="bench",
                       roles=("bench",), team="bench", arguments={"text": f"hello {number}"}, cost=0.0001,
                       duration_ms=0.4)

async def caller(log, count):
    for number in range(count):
        await asyncio.sleep(gap)
        await log.record(record(number))

async def main():
    log = AuditLog.from_settings(AuditSettings(sink=f"sqlite:///{path}", durability=durability))
    batches, commit = [0], log._commit
    async def counted(batch):
        batches[0] += 1
        await commit(batch)
    log._commit = counted
    async with log.running():
        await asyncio.gather(*(caller(log, 20) for _ in range(16)))  # warm-up
        await log.flush()
        batches[0] = 0
        started = time.process_time()
        await asyncio.gather(*(caller(log, records // 16) for _ in range(16)))
        await log.flush()
        used = time.process_time() - started
    count = records // 16 * 16
    print(json.dumps({"cpu_us_per_record": used / count * 1e6, "records_per_batch": count / batches[0]}))

asyncio.run(main())
"""


def one(tree: Path, durability: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    path = workdir / f"audit-{os.urandom(4).hex()}.db"
    argv = [sys.executable, "-c", CHILD, durability, str(args.records), str(args.gap), str(path)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(args: argparse.Namespace) -> None:
    trees = {"this tree": ROOT, "baseline": args.baseline.resolve()}
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            for durability in args.durability:
                for name, tree in trees.items():
                    found = one(tree, durability, args, Path(tmp))
                    figures.setdefault(f"{name} · {durability}", []).append(found["cpu_us_per_record"])
                    print(
                        f"round {number + 1}: {name} · {durability}: {found['cpu_us_per_record']:.1f} µs CPU per"
                        f" record, {found['records_per_batch']:.1f} records per batch",
                        flush=True,
                    )
    head = ["durability", "this tree, µs CPU per record", "baseline", "this tree ÷ baseline (same round)"]
    body = []
    for durability in args.durability:
        mine, base = figures[f"this tree · {durability}"], figures[f"baseline · {durability}"]
        ratios = [m / b for m, b in zip(mine, base, strict=True)]
        body.append([durability, _spread(mine, ".1f"), _spread(base, ".1f"), _spread(ratios, ".3f", "×")])
    print(text_table(head, body))
    label = run_label()
    result = {"run": label, "baseline": str(args.baseline), "gap_s": args.gap, "rounds": figures}
    title = "Audit writer: CPU per record, this tree against a baseline"
    write_result("audit_writer_cpu", result, markdown_report(title, label, markdown_table(head, body) + "\n"))


def _spread(values: list[float], fmt: str, unit: str = "") -> str:
    low, high = min(values), max(values)
    return f"{statistics.median(values):{fmt}}{unit} ({low:{fmt}}–{high:{fmt}})"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout (a tree with src/)")
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.0005, help="seconds each task waits between records")
    parser.add_argument("--durability", nargs="+", choices=["queued", "commit"], default=["queued", "commit"])
    main(parser.parse_args())
