"""Side by side, in one run: the echo upstream called directly, through mcp-guard with governance off and
on, and through FastMCP's proxy (backend session reused); every figure also as a ratio to direct.

Set-up (issue 8): the upstream (`bench/echo_server.py`, streamable HTTP, `echo` tool) and the system under
test pinned to core 0, the load generator (`bench/_loadgen.py`) to core 1. All targets are started first
and stay up for the whole run. Per target:

- start-up: spawn → port listening, and spawn → first successful `tools/call`;
- 2,000 sequential calls with `mcp.Client` (2026-07-28): p50 / p90 / p99, as the medians of 4 rounds of
  500 that visit the targets in turn (A B C … A B C …), so a noisy moment on the shared machine hits every
  target alike rather than one of them;
- closed loop with 1, 16 and 64 sessions, each for `--seconds`, with both load clients (`mcp.Client`, and
  `wire`: the same requests from a lean client, see `_loadgen.py`): calls/s, p50, errors, CPU per call of
  the gateway and of the upstream (`/proc/<pid>/stat` deltas), the load generator's own CPU;
- RSS idle (after start and one call) and peak under load; idle RSS with 10 upstreams connected.

Start-up and idle memory come from `startup.py` (same code), which also measures them alone in a minute.

Governance on = the standalone app with all five middlewares: a config key (SQLite key store), a header
filter sent on every call, a per-key request limit and a per-tool rule (memory), a priced call reserved and
settled against a team budget (memory ledger), and an audit record per call (SQLite).

    .venv/bin/python bench/gateways.py [--seconds 4] [--calls 2000] [--no-fastmcp] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _fastmcp_env import fastmcp_python, fastmcp_version  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import MANY, Target, echo_upstream, idle_figures, started, targets  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402

CONCURRENCY = (1, 16, 64)
CLIENTS = ("wire", "mcp")
SEQUENTIAL_ROUNDS = 4


@contextmanager
def running(target: Target, upstream: Pinned) -> Iterator[tuple[Pinned, str, dict[str, Any]]]:
    """The target's process (the upstream for `direct`), its URL, and its start-up figures (`startup.py`)."""
    if target.start is None:
        yield upstream, f"http://127.0.0.1:{upstream.port}/mcp", {}
        return
    with started(target) as running_target:
        yield running_target


@dataclass
class Running:
    """A target up for the run: its process (the upstream itself for `direct`), URL and figures so far."""

    target: Target
    process: Pinned
    url: str
    row: dict[str, Any]

    def spec(self, **options: Any) -> dict[str, Any]:
        return {"url": self.url, "tool": self.target.tool, "headers": self.target.headers} | options

    def watch(self, upstream: Pinned) -> dict[str, int]:
        return {"upstream": upstream.pid} | ({"gateway": self.process.pid} if self.process is not upstream else {})


def sequential(targets: list[Running], upstream: Pinned, calls: int) -> None:
    """`calls` sequential calls per target with `mcp.Client`, in rounds that visit the targets in turn;
    each target's p50 / p90 / p99 are the medians of its rounds."""
    per_round = max(1, calls // SEQUENTIAL_ROUNDS)
    rounds: dict[str, list[dict[str, Any]]] = {running.target.name: [] for running in targets}
    for _ in range(SEQUENTIAL_ROUNDS):
        for running in targets:
            spec = running.spec(client="mcp", sessions=1, calls_per_session=per_round, warmup=50)
            rounds[running.target.name].append(drive(spec, running.watch(upstream)))
    for running in targets:
        runs = rounds[running.target.name]
        medians = {key: round(statistics.median(run[key] for run in runs), 3) for key in ("p50_ms", "p90_ms", "p99_ms")}
        running.row["sequential"] = medians | {"calls": per_round * len(runs), "rounds": runs}
        print(f"== {running.target.name}: sequential p50 {medians['p50_ms']} ms", flush=True)


def under_load(running: Running, upstream: Pinned, args: argparse.Namespace) -> None:
    print(f"== {running.target.name}", flush=True)
    for client in args.clients:
        for sessions in args.sessions:
            spec = running.spec(client=client, sessions=sessions, seconds=args.seconds)
            result = drive(spec, running.watch(upstream), rss_pid=running.process.pid)
            running.row[f"{client}_{sessions}"] = result
            cpu = result.get("gateway_cpu_ms_per_call", result["upstream_cpu_ms_per_call"])
            print(
                f"   {client:>4} x{sessions:<3} {result['calls_per_s']:>8} calls/s  p50 {result['p50_ms']} ms"
                f"  errors {result['errors']}  cpu/call {cpu} ms  loadgen cpu {result['loadgen_cpu_util']}",
                flush=True,
            )


def main(args: argparse.Namespace) -> dict[str, Any]:
    server_core, load_core = cores()
    os.sched_setaffinity(0, {load_core})  # the harness itself stays off the server core
    label = run_label()
    extra = {"fastmcp": fastmcp_version()} if args.fastmcp and fastmcp_python() else {}
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mcp-guard-bench-") as tmp, echo_upstream(free_port()) as upstream:
        upstream.wait_listening()
        upstream_url = f"http://127.0.0.1:{upstream.port}/mcp"
        key = generate_key()
        everything = targets(upstream_url, key, Path(tmp), args.fastmcp)
        chosen = [t for t in everything if not args.only or t.name in ("direct", *args.only)]
        with ExitStack() as stack:
            up = [Running(target, *stack.enter_context(running(target, upstream))) for target in chosen]
            sequential(up, upstream, args.calls)
            for each in up:
                under_load(each, upstream, args)
                rows[each.target.name] = each.row
        for target in chosen:
            if target.many_tool and not args.only:
                rows[target.name]["ten_upstreams"] = idle_figures(target, MANY)
    return {
        "benchmark": "gateways",
        **label,
        **extra,
        "cores": {"servers": server_core, "load_generator": load_core},
        "sequential_calls": args.calls,
        "seconds_per_run": args.seconds,
        "targets": rows,
    }


# -- report ------------------------------------------------------------------------------------------


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base else "–"


def tables(report: dict[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    rows = report["targets"]
    direct = rows["direct"]
    base_p50 = direct["sequential"]["p50_ms"]
    main_rows, load_rows, system_rows = [], [], []
    for name, row in rows.items():
        seq = row["sequential"]
        wire16 = row["wire_16"]
        main_rows.append(
            [
                name,
                f"{seq['p50_ms']:.2f} ms ({_ratio(seq['p50_ms'], base_p50)})",
                f"{seq['p50_ms'] - base_p50:+.2f} ms" if name != "direct" else "–",
                f"{wire16['calls_per_s']:.0f} ({_ratio(wire16['calls_per_s'], direct['wire_16']['calls_per_s'])})",
                f"{wire16.get('gateway_cpu_ms_per_call', 0):.3f} ms" if name != "direct" else "–",
                f"{row['rss_idle_mb']} MB" if "rss_idle_mb" in row else "–",
                f"{row['ten_upstreams']['rss_idle_mb']} MB" if "ten_upstreams" in row else "–",
                f"{row['first_call_s']:.2f} s" if "first_call_s" in row else "–",
            ]
        )
        for client in CLIENTS:
            cells = [name, client]
            for sessions in CONCURRENCY:
                r = row[f"{client}_{sessions}"]
                cells.append(f"{r['calls_per_s']:.0f} / {r['p50_ms']:.1f} ms / {r['errors']}")
            cells.append(str(row[f"{client}_64"].get("rss_peak_mb", "–")))
            cells.append(f"{row[f'{client}_16']['loadgen_cpu_util']:.2f}")
            load_rows.append(cells)
        system_rows.append(
            [
                name,
                f"{row['listening_s']:.2f} s" if "listening_s" in row else "–",
                f"{wire16['upstream_cpu_ms_per_call']:.3f} ms",
                f"{wire16.get('gateway_cpu_util', 0):.2f} + {wire16['upstream_cpu_util']:.2f}",
                f"{seq['p90_ms']:.2f} / {seq['p99_ms']:.2f} ms",
            ]
        )
    head = [
        "target",
        "p50 tools/call",
        "added p50",
        "calls/s at 16",
        "gateway CPU/call",
        "idle RSS",
        "idle RSS, 10 upstreams",
        "first call after start",
    ]
    load_head = [
        "target",
        "client",
        "1 session: calls/s / p50 / errors",
        "16 sessions",
        "64 sessions",
        "RSS peak MB",
        "load-gen CPU at 16",
    ]
    system_head = [
        "target",
        "listening after",
        "upstream CPU/call at 16",
        "core 0 busy (gw + up) at 16",
        "sequential p90 / p99",
    ]
    return [(head, main_rows), (load_head, load_rows), (system_head, system_rows)]


def markdown(report: dict[str, Any]) -> str:
    return "\n".join(markdown_table(head, rows) for head, rows in tables(report))


def print_tables(report: dict[str, Any]) -> None:
    for head, rows in tables(report):
        print(text_table(head, rows), end="\n\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each closed-loop run")
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per target")
    parser.add_argument("--no-fastmcp", dest="fastmcp", action="store_false", help="skip FastMCP's proxy")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 calls, 1 s per run")
    parser.add_argument("--only", nargs="*", help="only these targets, by exact name (always with direct)")
    parser.add_argument("--clients", nargs="*", default=list(CLIENTS), choices=CLIENTS)
    parser.add_argument("--sessions", nargs="*", type=int, default=list(CONCURRENCY))
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seconds, arguments.calls = 1.0, 200
    result = main(arguments)
    if arguments.only or arguments.clients != list(CLIENTS) or arguments.sessions != list(CONCURRENCY):
        sys.exit(0)  # a partial run: no tables, nothing recorded
    notes = (
        "calls/s at 16 and CPU/call use the `wire` load client (the `mcp` client saturates its core first); "
        "p50 tools/call is 2,000 sequential calls with `mcp.Client`, the median of 4 rounds that visit the targets "
        "in turn. Ratios are to `direct` in this run.\n"
    )
    write_result("gateways", result, markdown_report("gateways", result, markdown(result) + "\n" + notes))
    print_tables(result)
