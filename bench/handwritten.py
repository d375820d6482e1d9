"""Hand-written protocol code against a well-kept library doing the same job (issue 23, item 5).

1. The upstream HTTP client (`upstreams/direct_http.py`, keep-alive connections parsed by httptools) against
   httpx2 (what the mcp SDK uses) and aiohttp's client. Realistic loop: governed `tools/call`s (`echo`)
   through the gateway, in process (REST `tool/execute` over an ASGI transport), to the notes example server
   over HTTP in a subprocess. Only the exchange (send the POST, read the reply) differs between variants;
   the stamp, JSON-RPC decoding and result validation are the same code. Metric: CPU of this process (the
   gateway, plus the in-process driver, identical in every variant) per call.
2. The route matcher (`router.GatewayRouter._match` over the `Endpoint` table) against Starlette's router
   (`Route.matches` in `Router`'s order) on the gateway's own route table and realistic paths, in process.

Variants are visited in turn, several rounds; ratios are against the library within each round.

    .venv/bin/python bench/handwritten.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
from _common import markdown_report, markdown_table, run_label, write_result
from _procs import free_port, port_is_open
from starlette.routing import Match, Route, compile_path

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.errors import GatewayError
from mcp_guard.router import ROUTES, GatewayRouter
from mcp_guard.server import standalone_app
from mcp_guard.upstreams.direct_http import DirectHttpCaller, Reply, _checked, _decode

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "examples" / "servers" / "notes_server.py"

# -- 1. the upstream HTTP client ------------------------------------------------------------------------

_native_exchange = DirectHttpCaller._exchange
_used: dict[str, int] = {}


def _split(request: bytes) -> tuple[str, dict[str, str], bytes]:
    """The request `DirectHttpCaller._request` built, as (target, headers, body) for a library client."""
    head, body = request.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    for name in ("host", "content-length"):
        headers.pop(name, None)
    return lines[0].split(" ")[1], headers, body


class _Library:
    """One library client per run, as the direct path keeps one pool per upstream."""

    httpx: httpx2.AsyncClient | None = None
    aiohttp: aiohttp.ClientSession | None = None


async def _httpx_exchange(self: DirectHttpCaller, request: bytes, request_id: int, deadline: float) -> dict[str, Any]:
    _used["httpx2"] = _used.get("httpx2", 0) + 1
    target, headers, body = _split(request)
    assert _Library.httpx is not None
    response = await _Library.httpx.post(f"http://{self.host}:{self.port}{target}", content=body, headers=headers)
    reply = Reply(response.status_code, response.headers.get("content-type", ""), response.content, True)
    return _checked(reply.status, _decode(reply, request_id))


async def _aiohttp_exchange(self: DirectHttpCaller, request: bytes, request_id: int, deadline: float) -> dict[str, Any]:
    _used["aiohttp"] = _used.get("aiohttp", 0) + 1
    target, headers, body = _split(request)
    assert _Library.aiohttp is not None
    async with _Library.aiohttp.post(f"http://{self.host}:{self.port}{target}", data=body, headers=headers) as r:
        reply = Reply(r.status, r.headers.get("content-type", ""), await r.read(), True)
    return _checked(reply.status, _decode(reply, request_id))


_canned: list[bytes] = []  # the upstream's real reply body, recorded by the first native call


async def _counted_native(self: DirectHttpCaller, request: bytes, request_id: int, deadline: float) -> dict[str, Any]:
    _used["httptools"] = _used.get("httptools", 0) + 1
    message = await _native_exchange(self, request, request_id, deadline)
    if not _canned:
        _canned.append(json.dumps(message).encode())
    return message


async def _no_network(self: DirectHttpCaller, request: bytes, request_id: int, deadline: float) -> dict[str, Any]:
    """No client at all: the recorded reply decoded as the others decode theirs (the floor for the rest)."""
    _used["no network"] = _used.get("no network", 0) + 1
    _split(request)  # the library variants pay this too
    return _checked(200, _decode(Reply(200, "application/json", _canned[0], True), request_id))


CLIENTS = {
    "httptools": _counted_native,
    "httpx2": _httpx_exchange,
    "aiohttp": _aiohttp_exchange,
    "no network": _no_network,
}


async def bench_client(url: str, calls: int, rounds: int) -> dict[str, list[float]]:
    key = generate_key()
    config = {
        "servers": [{"name": "notes", "transport": "http", "url": url}],
        "roles": {"user": {"tools": ["*"]}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["user"]}],
        "auth": {"store": "memory://"},
    }
    gateway = Gateway(parse_config(config))
    transport = httpx2.ASGITransport(app=standalone_app(gateway))  # type: ignore[arg-type]
    body = {"id": "1", "type": "function", "function": {"name": "notes/echo", "arguments": {"text": "hi"}}}
    cpu: dict[str, list[float]] = {name: [] for name in CLIENTS}
    async with (
        gateway.lifespan(),
        httpx2.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers={"authorization": f"Bearer {key}"}
        ) as http,
        httpx2.AsyncClient() as _Library.httpx,
        aiohttp.ClientSession() as _Library.aiohttp,
    ):

        async def loop(count: int) -> float:
            started = time.process_time()
            for _ in range(count):
                response = await http.post("/mcp/tool/execute", json=body)
                assert response.status_code == 200 and "hi" in response.text, response.text
            return (time.process_time() - started) / count * 1e6

        for exchange in CLIENTS.values():  # warm every variant's pool and code paths
            DirectHttpCaller._exchange = exchange  # type: ignore[method-assign]
            await loop(50)
        _used.clear()
        for index in range(rounds):
            order = list(CLIENTS) if index % 2 == 0 else list(reversed(CLIENTS))
            for name in order:
                DirectHttpCaller._exchange = CLIENTS[name]  # type: ignore[method-assign]
                cpu[name].append(await loop(calls))
    DirectHttpCaller._exchange = _native_exchange  # type: ignore[method-assign]
    missing = [name for name in CLIENTS if _used.get(name, 0) < calls * rounds]
    assert not missing, f"the direct path was not used for {missing}: {_used}"
    return cpu


# -- 2. the route matcher -------------------------------------------------------------------------------

# Realistic traffic: listings and executions first, admin routes, a late route, a 404 and a 405.
PATHS = [
    ("GET", "/tools"),
    ("POST", "/tool/execute"),
    ("GET", "/servers"),
    ("POST", "/servers/notes/reconnect"),
    ("PATCH", "/servers/notes"),
    ("PUT", "/credentials/github/alice"),
    ("GET", "/analytics/usage"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/nowhere"),
    ("DELETE", "/tools"),
]


def _handwritten() -> Any:
    """The matcher the router had before this bench (compiled regexes scanned in table order, 405 when only
    the method differs), kept here as the measured alternative."""
    table = [(e, compile_path(e.path)[0]) for e in ROUTES]

    def match(method: str, path: str) -> Any:
        allowed = []
        for endpoint, regex in table:
            found = regex.match(path)
            if found is None:
                continue
            if endpoint.method == method:
                return endpoint, found.groupdict()
            allowed.append(endpoint.method)
        return allowed

    return match


def _gateway() -> Any:
    """The router's `_match` as it is now (Starlette `Route`s)."""
    router = GatewayRouter.__new__(GatewayRouter)
    router.routes = tuple(ROUTES)

    def match(method: str, path: str) -> Any:
        try:
            return router._match(method, path)
        except GatewayError as exc:
            return exc

    return match


def _starlette() -> Any:
    """Starlette's router's matching loop (`Router.app`): FULL wins, else the first PARTIAL is a 405."""
    routes = [Route(e.path, e.handler, methods=[e.method]) for e in ROUTES]

    def match(method: str, path: str) -> Any:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        partial = None
        for route in routes:
            matched, child = route.matches(scope)
            if matched is Match.FULL:
                return route, child["path_params"]
            if matched is Match.PARTIAL and partial is None:
                partial = route
        return partial

    return match


def bench_matcher(repeat: int, rounds: int) -> dict[str, list[float]]:
    matchers = {"hand-written": _handwritten(), "starlette Router": _starlette(), "GatewayRouter._match": _gateway()}
    cpu: dict[str, list[float]] = {name: [] for name in matchers}
    for index in range(rounds):
        for name in list(matchers) if index % 2 == 0 else list(reversed(matchers)):
            match = matchers[name]
            started = time.process_time()
            for _ in range(repeat):
                for method, path in PATHS:
                    match(method, path)
            cpu[name].append((time.process_time() - started) / (repeat * len(PATHS)) * 1e6)
    return cpu


# -- report ---------------------------------------------------------------------------------------------


def _rows(cpu: dict[str, list[float]], baseline: str) -> list[list[str]]:
    rows = []
    for name, values in cpu.items():
        ratios = [v / b for v, b in zip(values, cpu[baseline], strict=True)]
        rows.append(
            [
                name,
                f"{statistics.median(values):.1f}",
                f"{min(values):.1f}–{max(values):.1f}",
                f"{statistics.median(ratios):.3f}×",
                f"{min(ratios):.3f}–{max(ratios):.3f}×",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    server = subprocess.Popen([sys.executable, str(NOTES), "--transport", "http", "--port", str(port)])
    try:
        deadline = time.monotonic() + 30
        while not port_is_open(port):
            assert time.monotonic() < deadline and server.poll() is None, "the notes server did not start"
            time.sleep(0.1)
        client = asyncio.run(bench_client(url, args.calls, args.rounds))
    finally:
        server.terminate()
        server.wait(10)
    matcher = bench_matcher(2000, args.rounds)
    headers = ["variant", "CPU µs/call, median", "range", "ratio to library (median)", "ratio range"]
    client_table = markdown_table(headers, _rows(client, "httpx2"))
    aiohttp_ratio = _rows(client, "aiohttp")
    floor = client["no network"]
    own = {
        name: [v - f for v, f in zip(values, floor, strict=True)]
        for name, values in client.items()
        if name != "no network"
    }
    saving = [(a - h) / a for a, h in zip(client["aiohttp"], client["httptools"], strict=True)]
    saving_httpx = [(a - h) / a for a, h in zip(client["httpx2"], client["httptools"], strict=True)]
    own_rows = [[name, f"{statistics.median(v):.0f}", f"{min(v):.0f}–{max(v):.0f}"] for name, v in own.items()]
    matcher_table = markdown_table(headers, _rows(matcher, "starlette Router"))
    body = (
        f"Upstream HTTP client: gateway CPU per governed `tools/call` (echo, notes server over HTTP), "
        f"{args.calls} calls × {args.rounds} rounds per variant, ratios to httpx2 in the same round\n\n"
        f"{client_table}\nhttptools against aiohttp: {aiohttp_ratio[0][3]} (range {aiohttp_ratio[0][4]})\n\n"
        f"The client's own CPU per call (the variant minus `no network` in the same round, µs):\n\n"
        f"{markdown_table(['client', 'median', 'range'], own_rows)}\n"
        f"Gateway CPU per call saved by httptools: against aiohttp {statistics.median(saving):.1%} "
        f"(rounds {min(saving):.1%} to {max(saving):.1%}), against httpx2 {statistics.median(saving_httpx):.1%} "
        f"(rounds {min(saving_httpx):.1%} to {max(saving_httpx):.1%})\n\n"
        f"Route matcher: CPU per match over {len(PATHS)} realistic requests, ratios to Starlette's router\n\n"
        f"{matcher_table}\n"
    )
    label = run_label()
    write_result(
        "handwritten",
        {**label, "client_cpu_us": client, "saving_vs_aiohttp": saving, "matcher_cpu_us": matcher, "paths": PATHS},
        markdown_report("Hand-written protocol code against libraries", label, body),
    )
    print(body)


if __name__ == "__main__":
    main()
