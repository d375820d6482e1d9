"""Side by side, in one run: the echo upstream called directly, through mcp-guard with governance off and
on, and through FastMCP's proxy (backend session reused); every figure also as a ratio to direct.

Set-up (issue 8): the upstream (`bench/echo_server.py`, streamable HTTP, `echo` tool) and the system under
test pinned to core 0, the load generator (`bench/_loadgen.py`) to core 1. Per target:

- start-up: spawn → port listening, and spawn → first successful `tools/call`;
- 2,000 sequential calls with `mcp.Client` (2026-07-28): p50 / p90 / p99;
- closed loop with 1, 16 and 64 sessions, each for `--seconds`, with both load clients (`mcp.Client`, and
  `wire`: the same requests from a lean client, see `_loadgen.py`): calls/s, p50, errors, CPU per call of
  the gateway and of the upstream (`/proc/<pid>/stat` deltas), the load generator's own CPU;
- RSS idle (after start and one call) and peak under load; idle RSS with 10 upstreams connected.

Governance on = the standalone app with all five middlewares: a config key (SQLite key store), a header
filter sent on every call, a per-key request limit and a per-tool rule (memory), a priced call reserved and
settled against a team budget (memory ledger), and an audit record per call (SQLite).

    /work/venv/bin/python bench/gateways.py [--seconds 4] [--calls 2000] [--no-fastmcp] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive, first_call  # noqa: E402
from _fastmcp_env import fastmcp_python, fastmcp_version  # noqa: E402
from _httptools import httptools_path  # noqa: E402
from _procs import Pinned, cores, free_port, rss_mb  # noqa: E402

from mcp_guard.auth.keys import generate_key, hash_key  # noqa: E402

CONCURRENCY = (1, 16, 64)
CLIENTS = ("wire", "mcp")
FILTER_HEADERS = {"x-mcp-include-tools": "echo*/*", "x-mcp-user": "bench"}


@dataclass
class Target:
    """One way of reaching the echo tool."""

    name: str
    tool: str
    headers: dict[str, str] = field(default_factory=dict)
    start: Callable[[int], Pinned] | None = None  # port -> process; None = the upstream itself
    start_many: Callable[[int, int], Pinned] | None = None  # (port, servers) -> process, for idle RSS


def echo_upstream(port: int, core: int | None = None) -> Pinned:
    argv = [sys.executable, str(BENCH / "echo_server.py"), "--port", str(port)]
    return Pinned(argv, core=cores()[0] if core is None else core, port=port)


def gateway_config(upstream: str, key: str, workdir: Path, *, servers: int, governed: bool) -> Path:
    names = ["echo"] if servers == 1 else [f"echo{i}" for i in range(servers)]
    config: dict[str, Any] = {"servers": {name: {"transport": "http", "url": upstream} for name in names}}
    if governed:
        config |= {
            "roles": {"bench": {"tools": ["echo*/*"]}},
            "teams": {"bench": {"budget": {"limit": 1_000_000_000, "period": "1d"}}},
            "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["bench"], "team": "bench"}],
            "auth": {"store": f"sqlite:///{workdir / 'keys.db'}"},
            "rate_limits": {
                "requests_per_key": "100000000/minute",
                "rules": [{"tools": "*", "limit": "100000000/minute"}],
            },
            "pricing": {"default": 0.0001},
            "audit": {"sink": f"sqlite:///{workdir / 'audit.db'}"},
        }
    path = workdir / f"gateway-{servers}-{'on' if governed else 'off'}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def gateway(
    upstream: str, key: str, workdir: Path, *, governed: bool, h11: bool = False
) -> Callable[[int, int], Pinned]:
    """mcp-guard as installed (uvicorn with httptools, a dependency); `h11`: uvicorn's pure-Python parser."""

    def start(port: int, servers: int = 1) -> Pinned:
        config = gateway_config(upstream, key, workdir, servers=servers, governed=governed)
        argv = [sys.executable, str(BENCH / "serve_gateway.py"), str(config), "--port", str(port)]
        argv += ["--governance", "on" if governed else "off", "--http", "h11" if h11 else "auto"]
        source = os.environ.get("BENCH_GATEWAY_SRC", str(ROOT / "src"))  # another tree's gateway, for A/B runs
        return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": source})

    return start


def fastmcp(upstream: str, *, httptools: bool = False) -> Callable[[int, int], Pinned]:
    """FastMCP as its own environment installs it (uvicorn with h11); `httptools` puts httptools on its path."""

    def start(port: int, servers: int = 1) -> Pinned:
        argv = [str(fastmcp_python()), str(BENCH / "fastmcp_proxy.py"), "--upstream", upstream]
        argv += ["--port", str(port), "--servers", str(servers)]
        path = str(httptools_path()) if httptools else ""
        return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": path})

    return start


def targets(upstream: str, key: str, workdir: Path, with_fastmcp: bool) -> list[Target]:
    auth = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    off, on = gateway(upstream, key, workdir, governed=False), gateway(upstream, key, workdir, governed=True)
    on_h11 = gateway(upstream, key, workdir, governed=True, h11=True)
    found = [
        Target("direct", "echo"),
        Target("mcp-guard, governance off", "echo__echo", {}, lambda p: off(p, 1), off),
        Target("mcp-guard, governance on", "echo__echo", auth, lambda p: on(p, 1), on),
        Target("mcp-guard, governance on, h11", "echo__echo", auth, lambda p: on_h11(p, 1), on_h11),
    ]
    if with_fastmcp:
        proxy, fast_proxy = fastmcp(upstream), fastmcp(upstream, httptools=True)
        found.append(Target("FastMCP proxy, session reused", "echo", {}, lambda p: proxy(p, 1), proxy))
        found.append(Target("FastMCP proxy + httptools", "echo", {}, lambda p: fast_proxy(p, 1), fast_proxy))
    return found


@contextmanager
def running(target: Target, upstream: Pinned) -> Iterator[tuple[Pinned, str, dict[str, Any]]]:
    """The target's process (the upstream for `direct`), its URL, and its start-up figures."""
    if target.start is None:
        yield upstream, f"http://127.0.0.1:{upstream.port}/mcp", {}
        return
    port = free_port()
    with target.start(port) as process:
        listening = process.wait_listening()
        url = f"http://127.0.0.1:{port}/mcp"
        first = first_call(url, target.tool, target.headers, process.started_at)
        time.sleep(1.0)
        startup = {"listening_s": round(listening, 3), "first_call_s": round(first, 3)}
        yield process, url, startup | {"rss_idle_mb": round(rss_mb(process.pid), 1)}


def measure(target: Target, upstream: Pinned, args: argparse.Namespace) -> dict[str, Any]:
    print(f"== {target.name}", flush=True)
    with running(target, upstream) as (process, url, row):
        base = {"url": url, "tool": target.tool, "headers": target.headers}
        watch = {"upstream": upstream.pid} | ({"gateway": process.pid} if process is not upstream else {})
        row["sequential"] = drive(
            base | {"client": "mcp", "sessions": 1, "calls_per_session": args.calls, "warmup": 50}, watch
        )
        print(f"   sequential p50 {row['sequential']['p50_ms']} ms", flush=True)
        for client in args.clients:
            for sessions in args.sessions:
                spec = base | {"client": client, "sessions": sessions, "seconds": args.seconds}
                result = drive(spec, watch, rss_pid=process.pid)
                row[f"{client}_{sessions}"] = result
                cpu = result.get("gateway_cpu_ms_per_call", result["upstream_cpu_ms_per_call"])
                print(
                    f"   {client:>4} x{sessions:<3} {result['calls_per_s']:>8} calls/s  p50 {result['p50_ms']} ms"
                    f"  errors {result['errors']}  cpu/call {cpu} ms  loadgen cpu {result['loadgen_cpu_util']}",
                    flush=True,
                )
    return row


def idle_with_many(target: Target, servers: int) -> dict[str, Any] | None:
    """RSS after start and one call, with `servers` upstream connections (all to the one echo server)."""
    if target.start_many is None:
        return None
    port = free_port()
    with target.start_many(port, servers) as process:
        process.wait_listening()
        tool = "echo9__echo" if "mcp-guard" in target.name else "echo9_echo"
        first = first_call(f"http://127.0.0.1:{port}/mcp", tool, target.headers, process.started_at)
        time.sleep(2.0)
        return {"servers": servers, "first_call_s": round(first, 3), "rss_idle_mb": round(rss_mb(process.pid), 1)}


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
        for target in targets(upstream_url, key, Path(tmp), args.fastmcp):
            if args.only and target.name not in ("direct", *args.only):
                continue
            rows[target.name] = measure(target, upstream, args)
            variant = "httptools" in target.name or "h11" in target.name  # same memory as the row above it
            many = idle_with_many(target, 10) if not args.only and not variant else None
            if many is not None:
                rows[target.name]["ten_upstreams"] = many
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
        "p50 tools/call is 2,000 sequential calls with `mcp.Client`. Ratios are to `direct` in this run.\n"
    )
    write_result("gateways", result, markdown_report("gateways", result, markdown(result) + "\n" + notes))
    print_tables(result)
