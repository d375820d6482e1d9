"""In-process cost of the full middleware stack on a trivial route, versus the bare route.

Method: both apps are plain ASGI callables invoked directly (no server, no sockets) with a prepared scope,
so only the middlewares' own work is measured: key lookup and hash (a config key), header filter parsing,
the per-key request limit (in-memory sliding window), attaching the budget guard and the audit log. Each
request is timed with `perf_counter_ns`; bare and governed requests are interleaved in one run so machine
noise hits both alike. Reported: p50 / p90 per request and the p50 difference in µs (target ≤ 30 µs).

    .venv/bin/python bench/middleware_overhead.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio
from _common import markdown_report, markdown_table, run_label, write_result

from mcp_guard import Gateway, InProcessServer
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.middleware import governed

HOST_ROUTE = "/items/1"


def upstream(name: str) -> InProcessServer:
    """A server for the filter header to name (a filter naming no configured server is reported)."""
    server = InProcessServer(name)

    @server.tool
    def ping() -> str:
        return "pong"

    return server


async def trivial_route(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


def scope(key: str, path: str = "/mcp/tools") -> dict[str, Any]:
    headers = [
        (b"authorization", f"Bearer {key}".encode()),
        (b"x-mcp-include-clients", b"filesystem, database"),
        (b"x-mcp-user", b"alice"),
    ]
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": headers}


async def timed(app: Any, key: str, path: str = "/mcp/tools") -> int:
    request = scope(key, path)
    start = time.perf_counter_ns()
    await app(request, receive, send)
    return time.perf_counter_ns() - start


async def main(requests: int) -> dict[str, Any]:
    key = generate_key()
    config = parse_config({
        "roles": {"eng": {"tools": ["filesystem/*", "database/*"]}},
        "teams": {"eng": {"budget": {"limit": 100, "period": "1M"}}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["eng"], "team": "eng"}],
        "auth": {"store": "memory://"},
        "rate_limits": {"requests_per_key": "100000000/minute"},
        "audit": {"sink": "memory://"},
    })  # fmt: skip
    gateway = Gateway(config, inprocess=[upstream("filesystem"), upstream("database")])
    app = governed(trivial_route, gateway)
    bare: list[int] = []
    full: list[int] = []
    host: list[int] = []  # a host app's own route: the stack only checks the path and passes it on
    async with gateway.lifespan():
        for _ in range(1000):  # warm-up: caches, first limiter window
            await timed(app, key)
            await timed(trivial_route, key)
            await timed(app, key, HOST_ROUTE)
        for _ in range(requests):
            bare.append(await timed(trivial_route, key))
            full.append(await timed(app, key))
            host.append(await timed(app, key, HOST_ROUTE))
    return report(bare, full, host, requests)


def report(bare: list[int], full: list[int], host: list[int], requests: int) -> dict[str, Any]:
    def q(samples: list[int], p: int) -> float:
        return round(statistics.quantiles(samples, n=100)[p - 1] / 1000, 2)

    return {
        "benchmark": "middleware_overhead",
        **run_label(),
        "requests": requests,
        "bare_us": {"p50": q(bare, 50), "p90": q(bare, 90)},
        "governed_us": {"p50": q(full, 50), "p90": q(full, 90)},
        "added_p50_us": round(q(full, 50) - q(bare, 50), 2),
        "host_route_us": {"p50": q(host, 50), "p90": q(host, 90)},
        "host_route_added_p50_us": round(q(host, 50) - q(bare, 50), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    result = anyio.run(main, parser.parse_args().requests)
    rows = [
        ["bare route", result["bare_us"]["p50"], result["bare_us"]["p90"]],
        ["five middlewares (the mount)", result["governed_us"]["p50"], result["governed_us"]["p90"]],
        ["a host app route (passed on)", result["host_route_us"]["p50"], result["host_route_us"]["p90"]],
    ]
    table = markdown_table(["app", "p50 µs", "p90 µs"], rows)
    note = (
        f"\nAdded at p50: {result['added_p50_us']} µs on the mount (target ≤ 30 µs), "
        f"{result['host_route_added_p50_us']} µs on a host app route the gateway leaves alone.\n"
    )
    write_result("middleware_overhead", result, markdown_report("middleware_overhead", result, table + note))
    print(f"bare      p50 {result['bare_us']['p50']:>8} µs   p90 {result['bare_us']['p90']:>8} µs")
    print(f"governed  p50 {result['governed_us']['p50']:>8} µs   p90 {result['governed_us']['p90']:>8} µs")
    print(f"host      p50 {result['host_route_us']['p50']:>8} µs   p90 {result['host_route_us']['p90']:>8} µs")
    print(f"added p50: {result['added_p50_us']} µs (target ≤ 30 µs); host route {result['host_route_added_p50_us']} µs")
