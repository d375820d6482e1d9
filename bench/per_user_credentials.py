"""What calling a server as each user costs, next to the same server shared, in one run.

Method: `examples/servers/identity_server.py` over streamable HTTP, configured twice in one gateway:
`shared` (its service token on every call) and `peruser` (`credentials: {mode: stored}`: each caller's own
token, on a pooled session of their own, the stored token read through the credential cache). Two keys
(alice, bob) have linked tokens. Calls go through the REST endpoint in-process (middlewares, pipeline,
audit in memory), interleaved shared / per-user call by call and alternating the two users, so noise hits
both alike. Reported: p50 / p90 per call and the ratio per-user / shared; the first call of each user (the
session being opened) is left out, it is counted separately.

    .venv/bin/python bench/per_user_credentials.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from _common import markdown_report, markdown_table, run_label, write_result
from cryptography.fernet import Fernet

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app

ROOT = Path(__file__).resolve().parents[1]
PORT = 18491
URL = f"http://127.0.0.1:{PORT}/mcp"
KEYS = {"alice": generate_key(), "bob": generate_key()}


def config() -> dict[str, Any]:
    server = {"transport": "http", "url": URL, "headers": {"Authorization": "Bearer svc"}}
    return {
        "roles": {"user": {"tools": ["*"]}},
        "keys": [{"name": name, "hash": hash_key(key), "roles": ["user"]} for name, key in KEYS.items()],
        "auth": {"store": "memory://"},
        "credentials": {"store": "memory://", "key_env": "BENCH_CREDENTIALS_KEY"},
        "servers": [{"name": "shared", **server}, {"name": "peruser", **server, "credentials": {"mode": "stored"}}],
    }


async def main(calls: int) -> None:
    os.environ["BENCH_CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    gateway = Gateway(parse_config(config()))
    transport = httpx2.ASGITransport(app=standalone_app(gateway))  # type: ignore[arg-type]
    async with gateway.lifespan(), httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        for name, key in KEYS.items():
            auth = {"authorization": f"Bearer {key}"}
            await http.put(f"/mcp/credentials/peruser/{name}", json={"token": f"tok-{name}"}, headers=auth)

        async def call(server: str, user: str) -> float:
            body = {"id": "1", "type": "function", "function": {"name": f"{server}/whoami", "arguments": {}}}
            started = time.perf_counter()
            response = await http.post(
                "/mcp/tool/execute", json=body, headers={"authorization": f"Bearer {KEYS[user]}"}
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text
            return elapsed

        opening = [await call("peruser", user) for user in KEYS]
        samples: dict[str, list[float]] = {"shared": [], "peruser": []}
        for index in range(calls):
            user = "alice" if index % 2 else "bob"
            for server in ("shared", "peruser") if index % 2 else ("peruser", "shared"):
                samples[server].append(await call(server, user))
    report(calls, samples, opening)


def report(calls: int, samples: dict[str, list[float]], opening: list[float]) -> None:
    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    shared, peruser = samples["shared"], samples["peruser"]
    rows = [
        ["shared (service token)", f"{p(shared, 50):.3f}", f"{p(shared, 90):.3f}", "1.00"],
        ["per user (stored token)", f"{p(peruser, 50):.3f}", f"{p(peruser, 90):.3f}",
         f"{p(peruser, 50) / p(shared, 50):.2f}"],
    ]  # fmt: skip
    table = markdown_table(["calls to", "p50 ms", "p90 ms", "p50 ratio"], rows)
    note = (
        f"\n\n{calls} calls each, interleaved; a user's first call (session opened): "
        f"{', '.join(f'{ms:.1f}' for ms in opening)} ms.\n"
    )
    result: dict[str, Any] = {
        "benchmark": "per_user_credentials", **run_label(), "calls": calls,
        "p50_ms": {"shared": p(shared, 50), "peruser": p(peruser, 50)},
        "p90_ms": {"shared": p(shared, 90), "peruser": p(peruser, 90)}, "opening_ms": opening,
    }  # fmt: skip
    print(table + note)
    write_result("per_user_credentials", result, markdown_report("per_user_credentials", result, table + note))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    tokens = "svc=catalog,tok-alice=alice,tok-bob=bob"
    argv = [sys.executable, str(ROOT / "examples/servers/identity_server.py"), "--port", str(PORT)]
    upstream = subprocess.Popen(argv, env={**os.environ, "IDENTITY_TOKENS": tokens})
    try:
        time.sleep(3)  # until it listens
        anyio.run(main, args.calls)
    finally:
        upstream.terminate()
        upstream.wait()
