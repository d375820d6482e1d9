"""What auditing refusals at the door costs: an unknown key's request when its record is written, when the
per-source cap counts it instead (a flood), and an admitted request on the same stack for scale.

Method: four gateways with the five middlewares around a trivial route, invoked directly (no server, no
sockets), each with its audit log in SQLite in a temporary directory: "recorded" (`audit.refusals` caps far
out of reach: every refusal queued for the writer), "capped" (`per_source: 1/hour`, as in a flood once the
source's burst is spent: counted, not written), "not audited" (the refusal log sees no audit log: the
refusal as it cost before refusals were recorded) and an admitted request with a valid key (the path every
legitimate request takes, unchanged by this feature). Requests are interleaved one by one so machine noise
hits all alike; each unknown-key request presents a fresh key. Reported: p50 / p90 per request, ratios
against the refusal not audited, and the records written.

    .venv/bin/python bench/refusals.py [--requests 5000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
from _common import markdown_report, markdown_table, run_label, write_result
from middleware_overhead import receive, send, trivial_route  # the same trivial route, invoked the same way

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.middleware import governed

UNCAPPED = "100000000/minute"


def gateway(directory: Path, name: str, key: str, per_source: str) -> Gateway:
    refusals = {"per_source": per_source, "total": UNCAPPED}
    config = parse_config({
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": []}],
        "auth": {"store": "memory://"},
        "audit": {"sink": f"sqlite:///{directory / name}.db", "refusals": refusals},
    })  # fmt: skip
    return Gateway(config)


async def timed(app: Any, key: str) -> int:
    headers = [(b"authorization", f"Bearer {key}".encode())]
    scope = {"type": "http", "method": "GET", "path": "/mcp/tools", "root_path": "", "query_string": b"",
             "headers": headers, "client": ("10.0.0.1", 40000)}  # fmt: skip
    start = time.perf_counter_ns()
    await app(scope, receive, send)
    return time.perf_counter_ns() - start


async def main(requests: int) -> dict[str, Any]:
    key = generate_key()
    samples: dict[str, list[int]] = {"admitted": [], "unaudited": [], "recorded": [], "capped": []}
    with tempfile.TemporaryDirectory() as directory:
        gateways = {
            "admitted": gateway(Path(directory), "admitted", key, UNCAPPED),
            "unaudited": gateway(Path(directory), "unaudited", key, UNCAPPED),
            "recorded": gateway(Path(directory), "recorded", key, UNCAPPED),
            "capped": gateway(Path(directory), "capped", key, "1/hour"),
        }
        apps = {name: governed(trivial_route, g) for name, g in gateways.items()}
        gateways["unaudited"].governance.refusals._audit = lambda: None  # as if no audit log were in use
        written: dict[str, int] = {}
        async with AsyncExitStack() as running:
            for g in gateways.values():
                await running.enter_async_context(g.lifespan())
            for round_ in range(requests + 500):  # the first 500: warm-up
                times = {
                    "admitted": await timed(apps["admitted"], key),
                    "unaudited": await timed(apps["unaudited"], generate_key()),
                    "recorded": await timed(apps["recorded"], generate_key()),
                    "capped": await timed(apps["capped"], generate_key()),
                }
                if round_ >= 500:
                    for name, elapsed in times.items():
                        samples[name].append(elapsed)
            for name, g in gateways.items():
                await g.governance.audit.flush()
                written[name] = len(await g.governance.audit.query(limit=10 * requests))
    return report(samples, written, requests)


def report(samples: dict[str, list[int]], written: dict[str, int], requests: int) -> dict[str, Any]:
    def q(values: list[int], p: int) -> float:
        return round(statistics.quantiles(values, n=100)[p - 1] / 1000, 2)

    base = q(samples["unaudited"], 50)
    return {
        "benchmark": "refusals",
        **run_label(),
        "requests": requests,
        "us": {name: {"p50": q(values, 50), "p90": q(values, 90)} for name, values in samples.items()},
        "vs_unaudited_p50": {name: round(q(values, 50) / base, 2) for name, values in samples.items()},
        "records_written": written,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5_000)
    result = anyio.run(main, parser.parse_args().requests)
    labels = {
        "admitted": "valid key, admitted (unchanged path)",
        "unaudited": "unknown key, refusal not audited (as before)",
        "recorded": "unknown key, refusal recorded",
        "capped": "unknown key, refusal counted (cap reached)",
    }
    rows = [
        [label, result["us"][name]["p50"], result["us"][name]["p90"], f"{result['vs_unaudited_p50'][name]}×",
         result["records_written"][name]]
        for name, label in labels.items()
    ]  # fmt: skip
    table = markdown_table(["request", "p50 µs", "p90 µs", "p50 vs not audited", "records"], rows)
    write_result("refusals", result, markdown_report("refusals", result, table))
    print(table)
