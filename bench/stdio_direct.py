"""Stdio upstreams (issue 23, item 2): the gateway's direct path (`upstreams/direct_stdio.py`) against the
SDK session it replaces for tool calls, next to a direct stdio call from the SDK client to the same server.

The server is `bench/echo_server.py --transport stdio` everywhere (one child per path). Two parts, each
with its baseline in the same run and the paths visited in turn every round (order reversed every other
round):

1. In process (the pipeline): one process holds an `mcp.Client` over stdio (the baseline, 1.00×) and a
   governed gateway (key, header filter, rate limit, priced call against a team budget, SQLite audit with
   `durability: queued`, so no call waits for the disk) with
   two stdio upstreams, `sdk` (tool calls through the SDK session: before) and `direct` (after), called
   with `gateway.call` as the MCP endpoint does. Latency per call (`perf_counter_ns`) and this process's
   CPU per call (the children's CPU is not in it: the same echo server's in every path).
2. Over HTTP: `mcp-guard`'s standalone app (`serve_gateway.py`, governance on) with the same two upstreams,
   called by the `mcp.Client` load generator over streamable HTTP on the other core; the baseline is the
   same load generator calling the echo server over stdio itself. Gateway CPU per call from `/proc`. The
   gateway's in-process `echo` tool (`--inprocess`) is visited too: the floor, what the HTTP hop and
   governance cost with no upstream at all, so what a stdio upstream adds is the distance to it.

    .venv/bin/python bench/stdio_direct.py [--calls 1000] [--rounds 5] [--http-calls 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from inprocess_pipeline import bench_document  # noqa: E402
from serve_gateway import without_direct_path  # noqa: E402
from startup import ROOT  # noqa: E402

from mcp_guard import Gateway  # noqa: E402
from mcp_guard.auth.keys import generate_key  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402
from mcp_guard.filters import HeaderFilter  # noqa: E402
from mcp_guard.state import RequestState  # noqa: E402
from mcp_guard.upstreams.direct_stdio import DirectStdioCaller  # noqa: E402

ECHO = [sys.executable, str(BENCH / "echo_server.py"), "--transport", "stdio"]
ARGUMENTS = {"text": "x"}
BASELINE = "direct stdio call (SDK client, no gateway)"
BEFORE = "gateway, SDK session (before)"
AFTER = "gateway, direct path (after)"
FLOOR = "gateway, in-process tool (floor)"


def document(workdir: Path, key: str) -> dict[str, Any]:
    """`inprocess_pipeline.py`'s governed configuration, over the two stdio upstreams."""
    stdio = {"transport": "stdio", "command": ECHO[0], "args": ECHO[1:]}
    config = bench_document(workdir, key) | {"servers": {"sdk": stdio, "direct": stdio}}
    config["roles"]["bench"]["tools"] = ["*"]
    config["rate_limits"]["rules"][0]["tools"] = "*"
    # queued: a call does not wait for its record's commit, so the disk's fsync is not in the figures
    config["audit"]["durability"] = "queued"
    return config


def governed(gateway: Gateway, key: str) -> Callable[[], RequestState]:
    """What the five middlewares attach to a request (built once; `inprocess_pipeline.py` does the same)."""
    identity = gateway.governance.keys.authenticate(key)
    rule = HeaderFilter.from_scope({"headers": [(b"x-mcp-include-tools", b"*")]})
    limiter, budget, audit = gateway.governance.rate_limiter, gateway.governance.budget, gateway.governance.audit

    def make() -> RequestState:
        access = [identity.access, rule] if rule else [identity.access]
        return RequestState(
            principal=identity.principal, user="bench", access=access, rate_limiter=limiter, budget=budget, audit=audit
        )

    return make


async def checked(call: Awaitable[Any]) -> None:
    result = await call
    if result.is_error or result.content[0].text != "x":
        raise RuntimeError(f"unexpected answer: {result}")


async def in_process(calls: int, rounds: int) -> dict[str, Any]:
    from mcp import Client, StdioServerParameters

    without_direct_path({"sdk"})
    key = generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        gateway = Gateway(parse_config(document(Path(tmp), key)))
        state = governed(gateway, key)
        async with (
            Client(StdioServerParameters(command=ECHO[0], args=ECHO[1:])) as client,
            gateway.lifespan(),
        ):
            with anyio.fail_after(30):
                while any(getattr(gateway.upstreams[name], "_link", None) is None for name in ("sdk", "direct")):
                    await anyio.sleep(0.05)
            assert gateway.upstreams["sdk"]._link.direct is None  # type: ignore[attr-defined]
            direct = gateway.upstreams["direct"]._link.direct  # type: ignore[attr-defined]
            assert isinstance(direct, DirectStdioCaller)
            paths: dict[str, Callable[[], Awaitable[None]]] = {
                BASELINE: lambda: checked(client.call_tool("echo", ARGUMENTS)),
                BEFORE: lambda: checked(gateway.call(state(), "sdk__echo", ARGUMENTS, entry_point="mcp")),
                AFTER: lambda: checked(gateway.call(state(), "direct__echo", ARGUMENTS, entry_point="mcp")),
            }
            for call in paths.values():  # warm-up: validators compiled, limiter and ledger windows open
                for _ in range(200):
                    await call()
            used = direct._next_id
            figures = await _rounds(paths, calls, rounds)
            assert direct._next_id - used == calls * rounds, "the direct path was not taken"
    return figures


async def _rounds(paths: dict[str, Callable[[], Awaitable[None]]], calls: int, rounds: int) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for index in range(rounds):
        for name in list(paths) if index % 2 == 0 else list(reversed(paths)):
            call, samples = paths[name], latencies[name]
            cpu_started = time.process_time()
            for _ in range(calls):
                started = time.perf_counter_ns()
                await call()
                samples.append((time.perf_counter_ns() - started) / 1e6)
            cpu[name].append((time.process_time() - cpu_started) * 1000.0 / calls)
    return {
        name: {
            "p50_ms": round(statistics.median(latencies[name]), 3),
            "p90_ms": round(statistics.quantiles(latencies[name], n=10)[-1], 3),
            "cpu_ms_per_call": round(statistics.median(cpu[name]), 3),
            "cpu_ms_per_call_rounds": [round(value, 3) for value in cpu[name]],
        }
        for name in paths
    }


def over_http(calls: int, rounds: int) -> dict[str, Any]:
    key = generate_key()
    headers = {"authorization": f"Bearer {key}", "x-mcp-user": "bench"}
    spec = {"client": "mcp", "sessions": 1, "calls_per_session": calls, "warmup": 50, "tool": "echo"}
    runs: dict[str, list[dict[str, Any]]] = {BASELINE: [], BEFORE: [], AFTER: [], FLOOR: []}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gateway.yaml"
        config.write_text(yaml.safe_dump(document(Path(tmp), key)))
        port = free_port()
        argv = [sys.executable, str(BENCH / "serve_gateway.py"), str(config), "--port", str(port), "--inprocess"]
        argv += ["--sdk-path", "sdk"]
        with Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": str(ROOT / "src")}) as gateway:
            gateway.wait_listening()
            url = f"http://127.0.0.1:{port}/mcp"
            targets = {
                BASELINE: (spec | {"stdio": ECHO}, {}),
                BEFORE: (spec | {"url": url, "tool": "sdk__echo", "headers": headers}, {"gateway": gateway.pid}),
                AFTER: (spec | {"url": url, "tool": "direct__echo", "headers": headers}, {"gateway": gateway.pid}),
                FLOOR: (spec | {"url": url, "tool": "inproc__echo", "headers": headers}, {"gateway": gateway.pid}),
            }
            for index in range(rounds):
                for name in list(targets) if index % 2 == 0 else list(reversed(targets)):
                    target, watch = targets[name]
                    runs[name].append(drive(target, watch))
                    print(f"  http round {index + 1} {name}: p50 {runs[name][-1]['p50_ms']} ms", flush=True)
    return {
        name: {
            "p50_ms": round(statistics.median(r["p50_ms"] for r in results), 3),
            "p50_ms_rounds": [r["p50_ms"] for r in results],
            "errors": sum(r["errors"] for r in results),
            **(
                {"gateway_cpu_ms_per_call": round(statistics.median(r["gateway_cpu_ms_per_call"] for r in results), 3)}
                if name != BASELINE
                else {}
            ),
        }
        for name, results in runs.items()
    }


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    inner = result["in_process"]
    base = inner[BASELINE]
    head = ["path", "p50", "vs direct", "p90", "CPU/call (this process)", "vs SDK session", "CPU rounds"]
    rows = [
        [name, f"{r['p50_ms']:.3f} ms", f"{r['p50_ms'] / base['p50_ms']:.2f}×", f"{r['p90_ms']:.3f} ms",
         f"{r['cpu_ms_per_call']:.3f} ms", f"{r['cpu_ms_per_call'] / inner[BEFORE]['cpu_ms_per_call']:.2f}×",
         ", ".join(f"{v:.3f}" for v in r["cpu_ms_per_call_rounds"])]
        for name, r in inner.items()
    ]  # fmt: skip
    http = result["over_http"]
    hbase = http[BASELINE]["p50_ms"]
    hhead = ["path", "p50 (median of rounds)", "vs direct", "gateway CPU/call", "p50 rounds", "errors"]
    hrows = [
        [name, f"{r['p50_ms']:.3f} ms", f"{r['p50_ms'] / hbase:.2f}×",
         f"{r['gateway_cpu_ms_per_call']:.3f} ms" if "gateway_cpu_ms_per_call" in r else "–",
         ", ".join(f"{v:.2f}" for v in r["p50_ms_rounds"]), r["errors"]]
        for name, r in http.items()
    ]  # fmt: skip
    return [("in process (pipeline, governance on)", head, rows), ("over HTTP (standalone app)", hhead, hrows)]


def main(args: argparse.Namespace) -> dict[str, Any]:
    os.sched_setaffinity(0, {cores()[1]})
    label = run_label()
    inner = anyio.run(in_process, args.calls, args.rounds)
    http = over_http(args.http_calls, args.rounds)
    return {"benchmark": "stdio_direct", **label, "calls": args.calls, "rounds": args.rounds,
            "http_calls": args.http_calls, "in_process": inner, "over_http": http}  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="in-process calls per path per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http-calls", type=int, default=1000, help="calls over HTTP per path per round")
    result = main(parser.parse_args())
    parts = tables(result)
    body = "\n\n".join(f"### {title}\n\n{markdown_table(head, rows)}" for title, head, rows in parts)
    write_result("stdio_direct", result, markdown_report("stdio_direct", result, body))
    for title, head, rows in parts:
        print(f"\n{title}\n{text_table(head, rows)}")
