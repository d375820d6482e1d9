"""Instructions per HTTP tool call the gateway executes with tracing off, at 100 % and at 1 % sampling:
what tracing costs on the fast path, counted rather than timed (issue 23, item 4).

CPU time on a shared VM moves 20 % between runs of the same target; the count of instructions a process
executes for a fixed number of calls barely moves. Each gateway runs under `valgrind --tool=callgrind`
with instrumentation off until it is warmed up; then, per measurement, the counters are zeroed, the load
generator sends exactly `--calls` calls (`--sessions` sessions; few, so that a call under valgrind's ~50×
slowdown stays below `DisconnectWatch`'s 100 ms and no watcher task is armed), and the counters are dumped:
the process's instructions (every thread: the batch span processor's worker too) over the calls. The echo
upstream and the load generator run natively.

Targets (governance on, the benchmark configuration of `observability_http.py`; metrics on everywhere):
`trace off`, `trace 100%` and `trace 1%` (`serve_gateway.py --trace-sampling`, `trace_detail: lean`), for
this tree and, with `--baseline TREE`, another checkout, each called by the `wire` client (2026-07-28, the
fast path of `router/fast_call.py`) and the `handshake` client (`router/session_call.py`). Rounds visit
every (gateway, client) pair in turn; the figure is the median of the rounds (they agree within ~1 %).

    .venv/bin/python bench/trace_instructions.py [--baseline /tmp/main-tree] [--calls 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import LOADGEN  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, ROOT, byte_compiled, echo_upstream, gateway_config  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402

SAMPLINGS = {"trace off": None, "trace 100%": 1.0, "trace 1%": 0.01}
CLIENTS = ("wire", "handshake")


class Counted(Pinned):
    """A gateway under callgrind, instrumented only between `zero` and `instructions`."""

    def __init__(self, tree: Path, config: Path, sampling: float | None, outdir: Path) -> None:
        port = free_port()
        self.out = outdir / f"callgrind.{port}"
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={self.out}"]
        argv += [sys.executable, str(tree / "bench" / "serve_gateway.py"), str(config), "--port", str(port)]
        argv += ["--governance", "on"]
        argv += ["--trace-sampling", str(sampling)] if sampling is not None else []
        super().__init__(argv, core=cores()[0], port=port, env={"PYTHONPATH": byte_compiled(str(tree / "src"))})

    def control(self, *options: str) -> None:
        subprocess.run(["callgrind_control", *options, str(self.pid)], check=True, capture_output=True, timeout=120)

    def zero(self) -> None:
        self.control("--instr=on")
        self.control("--zero")

    def instructions(self, keep: Path | None = None) -> tuple[int, int]:
        """Instructions since `zero`, and those of them spent in the cyclic garbage collector (dumped, then
        instrumentation off again); the dump moved to `keep`."""
        before = set(self.out.parent.glob(f"{self.out.name}*"))
        self.control("--dump")
        self.control("--instr=off")
        (dump,) = set(self.out.parent.glob(f"{self.out.name}*")) - before
        found = re.search(r"^summary: (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no summary in {dump}")
        collected = garbage_collection(dump)
        if keep is None:
            dump.unlink()
        else:
            dump.rename(keep)
        return int(found.group(1)), collected


def garbage_collection(dump: Path) -> int:
    """Instructions in `gc_collect_main`, callees included. A full collection walks the whole heap (~50
    million instructions here) every few hundred calls, at moments that depend on every allocation
    before: over a few hundred calls it moves the total by ±10 %, so it is reported apart."""
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)], capture_output=True, text=True
    ).stdout
    found = re.search(r"^\s*([\d,]+) .*:gc_collect_main ", annotated, re.MULTILINE)
    return int(found.group(1).replace(",", "")) if found else 0


def calls(
    gateway: Counted, client: str, headers: dict[str, str], count: int, sessions: int, keep: Path | None = None
) -> tuple[int, int]:
    """Instructions of `gateway` (all, and in the garbage collector) over exactly `count` calls from `client`
    (after each session's warm-up)."""
    spec = {"url": f"http://127.0.0.1:{gateway.port}/mcp", "tool": "echo__echo", "headers": headers}
    spec |= {"client": client, "sessions": sessions, "calls_per_session": count // sessions, "warmup": 50}
    argv = ["taskset", "-c", str(cores()[1]), sys.executable, str(LOADGEN), json.dumps(spec)]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    if (ready := process.stdout.readline().strip()) != "READY":
        process.kill()
        raise RuntimeError(f"load generator failed: {ready} {process.communicate()[1][-3000:]}")
    time.sleep(0.3)  # the warm-up's last replies and their audit records are out of the way
    gateway.zero()
    process.stdin.write("\n")
    process.stdin.flush()
    out, _ = process.communicate(timeout=1800)
    time.sleep(0.3)  # the last calls' audit commits, before the count is read
    result = json.loads(out.strip().splitlines()[-1])
    if result["errors"] or result["calls"] != count:
        raise RuntimeError(f"{result['calls']} calls, {result['errors']} errors: {result['first_error']}")
    return gateway.instructions(keep)


def main(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind (callgrind) is needed")
    os.sched_setaffinity(0, {cores()[1]})
    key = generate_key()
    headers = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    trees = {"": ROOT} | ({"baseline ": args.baseline.resolve()} if args.baseline else {})
    rounds: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, echo_upstream(free_port(), cores()[1]) as upstream, ExitStack() as stack:
        upstream.wait_listening()
        config = gateway_config(f"http://127.0.0.1:{upstream.port}/mcp", key, Path(tmp), servers=1, governed=True)
        gateways = {
            f"{prefix}{name}": Counted(tree, config, sampling, Path(tmp))
            for prefix, tree in trees.items()
            for name, sampling in SAMPLINGS.items()
        }
        for gateway in gateways.values():
            stack.enter_context(gateway)
        for gateway in gateways.values():
            gateway.wait_listening(timeout=300)
        for round_ in range(args.rounds):
            for client in CLIENTS:
                for name, gateway in gateways.items():
                    label = f"{name}-{client}-{round_ + 1}".replace(" ", "_").replace("%", "pc")
                    keep = args.keep / f"{label}.callgrind" if args.keep else None
                    total, collected = calls(gateway, client, headers, args.calls, args.sessions, keep)
                    measured = {"without_gc": (total - collected) / args.calls, "gc": collected / args.calls}
                    rounds.setdefault(f"{name} · {client}", []).append(measured)
                    print(f"round {round_ + 1} {name} · {client}: {measured['without_gc']:,.0f} instructions/call "
                          f"+ {measured['gc']:,.0f} in the garbage collector", flush=True)  # fmt: skip
    medians = {name: _summary(values) for name, values in rounds.items()}
    report = {"benchmark": "trace_instructions", **run_label(), "calls": args.calls, "sessions": args.sessions}
    return report | {"rounds": rounds, "median_instructions_per_call": medians}


def _summary(values: list[dict[str, float]]) -> dict[str, float]:
    """The median of the rounds without the collector; the collector's mean (it comes in lumps)."""
    return {
        "without_gc": statistics.median(r["without_gc"] for r in values),
        "gc_mean": statistics.fmean(r["gc"] for r in values),
    }


def table(medians: dict[str, dict[str, float]]) -> tuple[list[str], list[list[str]]]:
    head = ["gateway · client", "instructions per call, GC apart (median)", "vs trace off", "GC per call (mean)"]
    rows = []
    for name, value in medians.items():
        label, client = name.rsplit(" · ", 1)
        off = medians[f"{label.rsplit('trace', 1)[0]}trace off · {client}"]["without_gc"]
        ours = value["without_gc"]
        rows.append([name, f"{ours:,.0f}", f"{ours / off:.3f}× (+{ours - off:,.0f})", f"{value['gc_mean']:,.0f}"])
    return head, rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout (a tree with src/ and bench/)")
    parser.add_argument("--calls", type=int, default=300, help="calls per measurement")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep each measurement's callgrind dump in this directory")
    report = main(parser.parse_args())
    head, rows = table(report["median_instructions_per_call"])
    summary = markdown_report("trace_instructions", report, markdown_table(head, rows))
    write_result("trace_instructions", report, summary)
    print(text_table(head, rows))
