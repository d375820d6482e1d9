"""Run the benchmarks one after another, then write `bench/results/summary.md` from their results.

    .venv/bin/python bench/run_all.py            # the issue-8 set (about 15 minutes)
    .venv/bin/python bench/run_all.py --quick    # a smoke run of the same set (a few minutes)
    .venv/bin/python bench/run_all.py --all      # also latency, Code Mode, scale-out, chaos and Redis hang

Each benchmark runs in its own process (as it would alone) and writes its JSON and Markdown under
`bench/results/`; a failing benchmark is reported and the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import RESULTS, run_label  # noqa: E402

Benchmark = tuple[str, list[str], list[str]]  # name, full-run arguments, quick-run arguments
ISSUE_8: list[Benchmark] = [
    ("gateways", [], ["--quick"]),
    ("startup", [], ["--repeat", "1"]),
    ("upstream_kinds", [], ["--calls", "200"]),
    ("inprocess_pipeline", [], ["--calls", "2000"]),
    ("middleware_overhead", [], ["--requests", "2000"]),
]
OTHERS: list[Benchmark] = [
    ("latency", [], ["--calls", "200"]),
    ("codemode_overhead", [], []),
    ("codemode_tokens", [], []),
    ("scaleout", [], []),
    ("observability_overhead", [], ["--calls", "2000"]),
    ("chaos", [], ["--kills", "3", "--restarts", "1"]),
    ("redis_hang", [], ["--hang", "4"]),
]


def run(name: str, arguments: list[str]) -> tuple[bool, float]:
    print(f"\n=== {name} {' '.join(arguments)}", flush=True)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *arguments], cwd=BENCH.parent)
    return done.returncode == 0, time.perf_counter() - began


def summary(outcomes: dict[str, tuple[bool, float]]) -> str:
    label = run_label()
    lines = [f"# Benchmark summary\n\n{label['date']} · {label['machine']}\n"]
    for name, (ok, seconds) in outcomes.items():
        lines.append(f"\n## {name}  ({'ok' if ok else 'FAILED'}, {seconds:.0f} s)\n")
        markdown = RESULTS / f"{name}.md"
        if ok and markdown.exists():
            lines.append(markdown.read_text().split("\n", 3)[-1])  # the tables, without the title and label
        elif ok:
            lines.append(f"see `bench/results/{name}.json`\n")
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs, to check that everything works")
    parser.add_argument("--all", action="store_true", help="also the older benchmarks (Code Mode, scale-out)")
    args = parser.parse_args()
    chosen = ISSUE_8 + (OTHERS if args.all else [])
    outcomes = {name: run(name, quick if args.quick else full) for name, full, quick in chosen}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.md").write_text(summary(outcomes))
    failed = [name for name, (ok, _seconds) in outcomes.items() if not ok]
    print(f"\nsummary: {RESULTS / 'summary.md'}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
