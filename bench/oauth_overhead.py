"""What an OAuth access token costs at the door, next to a virtual key, in one run.

Method: the five middlewares on a trivial route, invoked in-process (no sockets) as in
`middleware_overhead.py`, with four callers interleaved request by request so machine noise hits all alike:
the bare route; a virtual key (config key: one SHA-256 and a dict lookup); an RS256 access token with the
per-token cache on (the hot path: one bounded-dict lookup); the same token with the cache off (a full
PyJWT verification each time, keys already fetched). The issuer is a local HTTP server publishing RFC 8414
metadata and a JWKS (fetched once). Reported: p50 / p90 per request and the ratios against the key.

    .venv/bin/python bench/oauth_overhead.py [--requests 5000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio
import jwt
import uvicorn
from _common import markdown_report, markdown_table, run_label, write_result
from cryptography.hazmat.primitives.asymmetric import rsa
from middleware_overhead import receive, send, trivial_route, upstream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.middleware import governed

PORT = 18477
ISSUER = f"http://127.0.0.1:{PORT}"
RESOURCE = "http://127.0.0.1/mcp"


def issuer_app(private_key: Any) -> Starlette:
    public = {**jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": "k1", "alg": "RS256"}

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse({"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse({"keys": [public]})

    return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata), Route("/jwks", jwks)])


def gateway(key: str, token_cache_bytes: int) -> Gateway:
    config = parse_config({
        "roles": {"eng": {"tools": ["filesystem/*", "database/*"]}},
        "teams": {"eng": {"budget": {"limit": 100, "period": "1M"}}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["eng"], "team": "eng"}],
        "auth": {"store": "memory://", "oauth": {
            "resource": RESOURCE, "issuers": [{"issuer": ISSUER}], "token_cache_bytes": token_cache_bytes,
            "claims": {"roles": "groups", "team": "team"},
        }},
        "rate_limits": {"requests_per_key": "100000000/minute"},
        "audit": {"sink": "memory://"},
    })  # fmt: skip
    return Gateway(config, inprocess=[upstream("filesystem"), upstream("database")])


def scope(credential: str) -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {credential}".encode()), (b"x-mcp-user", b"alice")]
    return {
        "type": "http",
        "method": "GET",
        "path": "/mcp/tools",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
    }


async def timed(app: Any, credential: str) -> int:
    request = scope(credential)
    start = time.perf_counter_ns()
    await app(request, receive, send)
    elapsed = time.perf_counter_ns() - start
    if app is not trivial_route and request["mcp_guard"].principal is None:
        raise RuntimeError("the credential was refused: the figures would measure a refusal")
    return elapsed


async def main(requests: int) -> dict[str, Any]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "alice", "aud": RESOURCE, "iat": now, "exp": now + 3600, "groups": ["eng"],
              "team": "eng", "email": "alice@example.com"}  # fmt: skip
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "k1"})
    key = generate_key()
    cached_gw, uncached_gw = gateway(key, 4_000_000), gateway(key, 0)
    cached, uncached = governed(trivial_route, cached_gw), governed(trivial_route, uncached_gw)
    samples: dict[str, list[int]] = {"bare": [], "key": [], "token_cached": [], "token_uncached": []}
    server = uvicorn.Server(uvicorn.Config(issuer_app(private_key), host="127.0.0.1", port=PORT, log_level="warning"))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.01)
        async with cached_gw.lifespan(), uncached_gw.lifespan():
            for round_ in range(200 + requests):  # 200 warm-up rounds: caches, first limiter window
                timings = {
                    "bare": await timed(trivial_route, key),
                    "key": await timed(cached, key),
                    "token_cached": await timed(cached, token),
                    "token_uncached": await timed(uncached, token),
                }
                if round_ >= 200:
                    for name, value in timings.items():
                        samples[name].append(value)
        server.should_exit = True
    return report(samples, requests)


def report(samples: dict[str, list[int]], requests: int) -> dict[str, Any]:
    def q(values: list[int], p: int) -> float:
        return round(statistics.quantiles(values, n=100)[p - 1] / 1000, 2)

    result: dict[str, Any] = {"benchmark": "oauth_overhead", **run_label(), "requests": requests}
    for name, values in samples.items():
        result[f"{name}_us"] = {"p50": q(values, 50), "p90": q(values, 90)}
    key_p50 = result["key_us"]["p50"]
    result["token_cached_vs_key"] = round(result["token_cached_us"]["p50"] / key_p50, 2)
    result["token_uncached_vs_key"] = round(result["token_uncached_us"]["p50"] / key_p50, 2)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5_000)
    result = anyio.run(main, parser.parse_args().requests)
    labels = {
        "bare": "bare route",
        "key": "virtual key (five middlewares)",
        "token_cached": "RS256 token, per-token cache (hot path)",
        "token_uncached": "RS256 token, verified every time",
    }
    rows = [[label, result[f"{name}_us"]["p50"], result[f"{name}_us"]["p90"]] for name, label in labels.items()]
    table = markdown_table(["caller", "p50 µs", "p90 µs"], rows)
    note = (
        f"\nAgainst the virtual key at p50: cached token {result['token_cached_vs_key']}×, "
        f"uncached {result['token_uncached_vs_key']}×.\n"
    )
    write_result("oauth_overhead", result, markdown_report("oauth_overhead", result, table + note))
    print(table + note)
