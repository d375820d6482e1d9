"""An in-process tool through the pipeline: what the gateway adds beyond the tool's own work.

One process, no sockets. Interleaved in one run, each timed with `perf_counter_ns`:

- `tool`: the tool function itself, awaited directly (the baseline: the tool's own work);
- `server`: `InProcessServer.call` (the SDK's argument model and result conversion around it);
- `pipeline, governance off`: `gateway.call` with an empty request state;
- `pipeline, governance on`: `gateway.call` with what the five middlewares attach: a config key's
  principal and access rule, a header filter, the rate limiter (one per-tool rule), the budget guard (a
  priced call reserved and settled against a team budget, memory ledger) and the audit log (SQLite,
  written by its writer task as in production).

The middlewares' work is not timed (`middleware_overhead.py` measures it): the state they would attach is
prepared beforehand; only the `RequestState` object itself (≈ 1 µs, a fresh request id) is made inside the
timed call. Target: governance on ≤ 60 µs above `tool` at p50.

    .venv/bin/python bench/inprocess_pipeline.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402

from mcp_guard import Gateway, InProcessServer  # noqa: E402
from mcp_guard.auth.keys import generate_key, hash_key  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402
from mcp_guard.filters import HeaderFilter  # noqa: E402
from mcp_guard.state import RequestState  # noqa: E402

TARGET_US = 60.0


async def echo(text: str) -> str:
    """Return `text` unchanged."""
    return text


def bench_document(workdir: Path, key: str) -> dict[str, Any]:
    """The governed configuration both in-process benchmarks use: a key, a rule, a priced call, SQLite audit."""
    return {
        "roles": {"bench": {"tools": ["inproc/*"]}},
        "teams": {"bench": {"budget": {"limit": 1_000_000_000, "period": "1d"}}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["bench"], "team": "bench"}],
        "auth": {"store": "memory://"},
        "rate_limits": {"rules": [{"tools": "inproc/*", "limit": "1000000000/minute"}]},
        "pricing": {"default": 0.0001},
        "audit": {"sink": f"sqlite:///{workdir / 'audit.db'}"},
    }


def gateway_for(workdir: Path, key: str) -> Gateway:
    tools = InProcessServer("inproc")
    tools.add(echo)
    return Gateway(parse_config(bench_document(workdir, key)), inprocess=[tools])


def governed_state(gateway: Gateway, key: str) -> Callable[[], RequestState]:
    identity = gateway.governance.keys.authenticate(key)
    scope = {"headers": [(b"x-mcp-include-tools", b"inproc/*")]}
    rule = HeaderFilter.from_scope(scope)
    # Built now, before the lifespan starts, as the middlewares build them: the lifespan runs the audit
    # writer only for components that exist by then.
    limiter, budget, audit = gateway.governance.rate_limiter, gateway.governance.budget, gateway.governance.audit

    def make() -> RequestState:
        return RequestState(
            principal=identity.principal,
            user="bench",
            access=[identity.access, rule] if rule else [identity.access],
            rate_limiter=limiter,
            budget=budget,
            audit=audit,
        )

    return make


async def sample(call: Callable[[], Awaitable[Any]]) -> int:
    start = time.perf_counter_ns()
    await call()
    return time.perf_counter_ns() - start


async def main(calls: int) -> dict[str, Any]:
    key = generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        gateway = gateway_for(Path(tmp), key)
        governed = governed_state(gateway, key)
        server = gateway.upstreams["inproc"].server  # type: ignore[attr-defined]
        arguments = {"text": "x"}

        def through(state: Callable[[], RequestState]) -> Callable[[], Awaitable[Any]]:
            return lambda: gateway.call(state(), "inproc__echo", arguments, entry_point="mcp")

        paths: dict[str, Callable[[], Awaitable[Any]]] = {
            "tool": lambda: echo("x"),
            "server": lambda: server.call("echo", arguments),
            "pipeline, governance off": through(RequestState),
            "pipeline, governance on": through(governed),
        }
        samples: dict[str, list[int]] = {name: [] for name in paths}
        async with gateway.lifespan():
            for _ in range(1000):  # warm-up: validators compiled, limiter and ledger windows open
                for call in paths.values():
                    await call()
            for _ in range(calls):
                for name, call in paths.items():
                    samples[name].append(await sample(call))
    return report(samples, calls)


def report(samples: dict[str, list[int]], calls: int) -> dict[str, Any]:
    def q(values: list[int], p: int) -> float:
        return round(statistics.quantiles(values, n=100)[p - 1] / 1000, 2)

    base = q(samples["tool"], 50)
    rows = {
        name: {"p50_us": q(values, 50), "p90_us": q(values, 90), "p99_us": q(values, 99),
               "added_p50_us": round(q(values, 50) - base, 2)}
        for name, values in samples.items()
    }  # fmt: skip
    return {
        "benchmark": "inprocess_pipeline",
        **run_label(),
        "calls": calls,
        "paths": rows,
        "target_added_p50_us": TARGET_US,
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    head = ["path", "p50 µs", "p90 µs", "p99 µs", "beyond the tool, p50"]
    rows = [
        [name, r["p50_us"], r["p90_us"], r["p99_us"], f"{r['added_p50_us']} µs"] for name, r in result["paths"].items()
    ]
    return head, rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    result = anyio.run(main, parser.parse_args().calls)
    head, rows = table(result)
    added = result["paths"]["pipeline, governance on"]["added_p50_us"]
    note = f"\nGovernance on adds {added} µs at p50 beyond the tool (target ≤ {TARGET_US:g} µs).\n"
    write_result(
        "inprocess_pipeline", result, markdown_report("inprocess_pipeline", result, markdown_table(head, rows) + note)
    )
    print(text_table(head, rows))
    print(note.strip())
