"""Handshake-era sessions on the fast path (issue 23, item 1), in one run: the echo upstream called directly,
and through mcp-guard with governance on, its handshake-era fast path off (the SDK's path, as before
`router/session_call.py`) and on; 2026-07-28 calls through the same gateway beside them.

Set-up as `gateways.py`: the upstream (`echo_server.py`) and the gateways pinned to core 0, the load
generator to core 1; governance on = the standalone app with a key, a filter header, rate limits, a priced
call against a team budget and an SQLite audit record per call (`startup.gateway_config`; `--durability`:
the audit's, default `commit`, where each answer waits for its record's commit). Clients:
`handshake` (`initialize` at 2025-11-25, then `tools/call` on the session: what Claude Desktop, Cursor, the
Inspector and most SDKs send) and `wire` (2026-07-28), both lean (`_loadgen.py`), so the servers are the
limit. Per round, every (target, client) pair in turn: 16 sessions closed loop for `--seconds` (calls/s,
CPU per call of the gateway and of the upstream from `/proc`), then one session for `--seconds` (p50, for
the added latency). Figures: medians over `--rounds` rounds, with their range; ratios against `direct` with
the same client in the same round. `--capabilities` adds an Inspector-like handshake client: it declares
elicitation, sampling and roots and sends a progress token with every call, so the gateway binds a relay
and a progress sink to each call; and a third gateway whose calls to the upstream all go through the SDK's
client (`serve_gateway.py --sdk-path`), where such calls went before the direct HTTP path carried them.

    .venv/bin/python bench/session_fast_path.py [--seconds 3] [--rounds 3] [--capabilities] [--durability queued]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, ROOT, byte_compiled, echo_upstream, gateway_config  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402

RELAYING = {"elicitation": {}, "sampling": {}, "roots": {"listChanged": True}}  # what the Inspector declares


@dataclass
class Target:
    name: str
    url: str
    tool: str
    headers: dict[str, str]
    process: Pinned | None  # None: the upstream itself
    clients: tuple[str, ...]
    rounds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def start_gateway(
    upstream: str, key: str, workdir: Path, *, fast: bool, durability: str, sdk_client: bool = False
) -> Pinned:
    config = gateway_config(upstream, key, workdir, servers=1, governed=True)
    document = yaml.safe_load(config.read_text())
    document["audit"]["durability"] = durability
    config = config.with_name(f"gateway-{durability}.yaml")
    config.write_text(yaml.safe_dump(document))
    argv = [sys.executable, str(BENCH / "serve_gateway.py"), str(config), "--port", str(free_port())]
    argv += [] if fast else ["--no-session-fast-path"]
    argv += ["--sdk-path", "echo"] if sdk_client else []  # every tool call to the upstream on the SDK client
    port = int(argv[argv.index("--port") + 1])
    return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": byte_compiled(str(ROOT / "src"))})


def start_floor(upstream: str, *, reencode: bool) -> Pinned:
    port = free_port()
    argv = [sys.executable, str(BENCH / "proxy_floor.py"), "--upstream", upstream, "--port", str(port)]
    argv += ["--json"] if reencode else []
    return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": byte_compiled(str(ROOT / "src"))})


@contextmanager
def floors(url: str, clients: tuple[str, ...]) -> Iterator[list[Target]]:
    """The bare reverse proxy on the gateway's HTTP stack (`proxy_floor.py`), bytes only and with JSON."""
    with ExitStack() as stack:
        found = []
        for name, reencode in (("floor: bare proxy", False), ("floor: proxy + JSON", True)):
            process = stack.enter_context(start_floor(url, reencode=reencode))
            process.wait_listening()
            found.append(Target(name, f"http://127.0.0.1:{process.port}/mcp", "echo", {}, process, clients))
        yield found


@contextmanager
def targets(
    upstream: Pinned, workdir: Path, capabilities: bool, durability: str, floor: bool
) -> Iterator[list[Target]]:
    url = f"http://127.0.0.1:{upstream.port}/mcp"
    key = generate_key()
    auth = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    handshake = ("handshake", "inspector-like") if capabilities else ("handshake",)
    with ExitStack() as stack:
        found = [Target("direct", url, "echo", {}, None, (*handshake, "wire"))]
        gateways = [
            ("mcp-guard, handshake fast path off", False, False, handshake),
            ("mcp-guard, handshake fast path on", True, False, (*handshake, "wire")),
        ]
        if capabilities:  # the before of relaying calls on the direct HTTP path: they went on the SDK client
            gateways.append(("mcp-guard, fast path on, upstream SDK client", True, True, ("inspector-like",)))
        for name, fast, sdk_client, clients in gateways:
            process = stack.enter_context(
                start_gateway(url, key, workdir, fast=fast, durability=durability, sdk_client=sdk_client)
            )
            process.wait_listening()
            found.append(Target(name, f"http://127.0.0.1:{process.port}/mcp", "echo__echo", auth, process, clients))
        if floor:
            found += stack.enter_context(floors(url, ("handshake", "wire")))
        yield found


def spec(target: Target, client: str, sessions: int, seconds: float) -> dict[str, Any]:
    options: dict[str, Any] = {"client": "wire" if client == "wire" else "handshake"}
    if client == "inspector-like":
        options |= {"capabilities": RELAYING, "progress": True}
    return (
        {"url": target.url, "tool": target.tool, "headers": target.headers, "sessions": sessions}
        | options
        | {
            "seconds": seconds,
            "warmup": 50,
        }
    )


def one_round(found: list[Target], upstream: Pinned, seconds: float) -> None:
    for target in found:
        watch = {"upstream": upstream.pid} | ({"gateway": target.process.pid} if target.process else {})
        for client in target.clients:
            loaded = drive(spec(target, client, 16, seconds), watch)
            single = drive(spec(target, client, 1, seconds), watch)
            figures = {
                "calls_per_s": loaded["calls_per_s"],
                "errors": loaded["errors"] + single["errors"],
                "first_error": loaded["first_error"] or single["first_error"],
                "gateway_cpu_ms": loaded.get("gateway_cpu_ms_per_call"),
                "upstream_cpu_ms": loaded["upstream_cpu_ms_per_call"],
                "p50_16_ms": loaded["p50_ms"],
                "p50_1_ms": single["p50_ms"],
            }
            target.rounds.setdefault(client, []).append(figures)
            print(
                f"   {target.name:<38} {client:<16} {figures['calls_per_s']:>7} calls/s  p50@1 {figures['p50_1_ms']} ms"
                f"  gw cpu {figures['gateway_cpu_ms']}  up cpu {figures['upstream_cpu_ms']}"
                f"  errors {figures['errors']}",
                flush=True,
            )


def summarise(found: list[Target]) -> dict[str, Any]:
    """Per (target, client): medians and ranges of each figure and of its ratio to direct in the same round."""
    direct = found[0]
    rows: dict[str, Any] = {}
    for target in found:
        for client, runs in target.rounds.items():
            base = direct.rounds[client]
            ratios = [r["calls_per_s"] / b["calls_per_s"] for r, b in zip(runs, base, strict=True)]
            added = [r["p50_1_ms"] - b["p50_1_ms"] for r, b in zip(runs, base, strict=True)]
            row: dict[str, Any] = {"rounds": runs, "ratio_to_direct": _spread(ratios), "added_p50_ms": _spread(added)}
            row["calls_per_s"] = _spread([r["calls_per_s"] for r in runs])
            row["p50_1_ms"] = _spread([r["p50_1_ms"] for r in runs])
            if target.process is not None:
                cpu = [r["gateway_cpu_ms"] / r["upstream_cpu_ms"] for r in runs]
                row["gateway_cpu_ms"] = _spread([r["gateway_cpu_ms"] for r in runs])
                row["gateway_cpu_vs_upstream"] = _spread(cpu)
            row["upstream_cpu_ms"] = _spread([r["upstream_cpu_ms"] for r in runs])
            row["errors"] = sum(r["errors"] for r in runs)
            rows[f"{target.name} · {client}"] = row
    return rows


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def _cell(spread: dict[str, float] | None, fmt: str, unit: str = "") -> str:
    if spread is None:
        return "–"
    return f"{spread['median']:{fmt}}{unit} ({spread['min']:{fmt}}–{spread['max']:{fmt}})"


def table(rows: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = [
        "target · client",
        "calls/s at 16",
        "ratio to direct",
        "p50, 1 session",
        "added p50",
        "gateway CPU/call",
        "upstream CPU/call",
        "gateway ÷ upstream CPU",
        "errors",
    ]
    body = []
    for name, row in rows.items():
        direct = name.startswith("direct")
        body.append(
            [
                name,
                _cell(row["calls_per_s"], ".0f"),
                _cell(row["ratio_to_direct"], ".2f", "×"),
                _cell(row["p50_1_ms"], ".2f", " ms"),
                "–" if direct else _cell(row["added_p50_ms"], "+.2f", " ms"),
                _cell(row.get("gateway_cpu_ms"), ".3f", " ms"),
                _cell(row["upstream_cpu_ms"], ".3f", " ms"),
                _cell(row.get("gateway_cpu_vs_upstream"), ".2f", "×"),
                str(row["errors"]),
            ]
        )
    return head, body


def fsync_p50_ms(directory: Path, writes: int = 200) -> float:
    """p50 of one small append made durable (`os.fsync`) in `directory`, where the gateways keep their audit:
    with `durability: commit`, the least a call's answer waits for its record on this disk."""
    seconds = []
    descriptor = os.open(directory / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(writes):
            os.write(descriptor, b"x" * 512)
            started = time.perf_counter()
            os.fsync(descriptor)
            seconds.append(time.perf_counter() - started)
    finally:
        os.close(descriptor)
    return round(statistics.median(seconds) * 1000, 3)


def main(args: argparse.Namespace) -> dict[str, Any]:
    server_core, load_core = cores()
    os.sched_setaffinity(0, {load_core})
    label = run_label()
    with tempfile.TemporaryDirectory(prefix="mcp-guard-bench-") as tmp, echo_upstream(free_port()) as upstream:
        upstream.wait_listening()
        with targets(upstream, Path(tmp), args.capabilities, args.durability, args.floor) as found:
            for number in range(args.rounds):
                print(f"== round {number + 1} of {args.rounds}", flush=True)
                one_round(found, upstream, args.seconds)
            rows = summarise(found)
        fsync_ms = fsync_p50_ms(Path(tmp))
    return {
        "benchmark": "session_fast_path",
        **label,
        "cores": {"servers": server_core, "load_generator": load_core},
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "audit_durability": args.durability,
        "fsync_p50_ms": fsync_ms,
        "rows": rows,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each closed-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds visiting every target and client in turn")
    parser.add_argument("--capabilities", action="store_true", help="also a client declaring elicitation/sampling")
    parser.add_argument("--floor", action="store_true", help="also the bare reverse proxy (proxy_floor.py)")
    parser.add_argument("--no-record", action="store_true", help="print only; write nothing to results/")
    parser.add_argument(
        "--durability", choices=["commit", "queued"], default="commit", help="the gateways' `audit.durability`"
    )
    arguments = parser.parse_args()
    result = main(arguments)
    head, body = table(result["rows"])
    notes = (
        "\nMedians over the rounds (range in brackets). `calls/s at 16`: 16 sessions, closed loop; ratios to `direct` "
        "with the same client in the same round. `added p50`: one session, against `direct` with the same client. "
        "CPU per call from /proc at 16 sessions; `gateway ÷ upstream CPU` in the same run. "
        f"One durable append (`fsync`) on the audit's disk after the rounds: p50 {result['fsync_p50_ms']} ms.\n"
    )
    if not arguments.no_record:
        name = "session_fast_path" + ("" if arguments.durability == "commit" else f"_{arguments.durability}")
        write_result(
            name,
            result,
            markdown_report(name, result, markdown_table(head, body) + notes),
        )
    print(text_table(head, body))
    print(f"fsync p50 on the audit's disk: {result['fsync_p50_ms']} ms")
