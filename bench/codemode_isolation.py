"""Code Mode isolation: what hostile and heavy programs cost everybody else.

One gateway (`serve_gateway.py`, governance on, an in-process `echo` tool) serves three kinds of client:

- the prober: one session calling `inproc__echo` (a plain `tools/call`, the wire client of `_loadgen.py`)
  every 10 ms, whose latencies are what is reported;
- hostile clients: 4 sessions running, over and over, the escape suite's crash, hang, memory and
  report-forging programs through `executeToolCode`;
- heavy clients: 8 sessions running, over and over, a program that computes until its CPU limit.

Phases of `--seconds` each, interleaved so a noisy moment of the shared machine hits them alike:
idle, hostile, idle, heavy (twice). Reported: the prober's p50 / p99 per phase, each as a ratio to the
idle phase next to it, and its errors (targets: p99 within 2x of idle, no errors).

    .venv/bin/python bench/codemode_isolation.py [--seconds 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_label, summary_ms, write_result  # noqa: E402
from _loadgen import PROTOCOL, WireSession  # noqa: E402
from _procs import free_port, port_is_open  # noqa: E402

from mcp_guard.auth.keys import generate_key, hash_key  # noqa: E402

HERE = Path(__file__).resolve().parent
HOSTILE = [
    "return Array.prototype.sort.call({ length: 2 ** 32 - 1 });",
    "return Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 'x');",
    "return Array.prototype.join.call({ length: 2 ** 53 - 1 });",
    "const s = 'x'.repeat(500 * 1024 * 1024); return s.indexOf('y');",
    "while (true) {}",
    "(Object.prototype as any).toJSON = function () {\n"
    "  return { requests: Array.from({ length: 200000 }, (_, i) => [i + 1, 'sleep', 30000]) };\n};\n"
    "await inproc.echo({ text: 'x' });",
    "try { await inproc.echo({ text: 'x'.repeat(20 * 1024 * 1024) }); } catch (e) { return 'caught'; }",
]
HEAVY = "let x = 0;\nfor (let i = 0; i < 1e12; i++) x = (x + i * i) % 1000003;\nreturn x;"


def config(key: str) -> dict[str, Any]:
    return {
        "roles": {"dev": {"tools": ["inproc/*"]}},
        "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["dev"]}],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://"},
        "code_mode": {"timeout_seconds": 5, "cpu_seconds": 3},
    }


async def program_loop(
    url: str, key: str, programs: list[str], stop: asyncio.Event, kinds: list[str], first: int
) -> None:
    """One client running `programs` in turn, from the `first`, until `stop` (JSON-RPC over HTTP, 2026-07-28)."""
    headers = {"x-api-key": key, "x-mcp-code-mode": "true", "mcp-protocol-version": PROTOCOL,
               "accept": "application/json, text/event-stream", "mcp-method": "tools/call",
               "mcp-name": "executeToolCode"}  # fmt: skip
    meta = {"io.modelcontextprotocol/protocolVersion": PROTOCOL, "io.modelcontextprotocol/clientInfo": {
        "name": "bench", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}  # fmt: skip
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        number = first
        while not stop.is_set():
            code = programs[number % len(programs)]
            number += 1
            body = {"jsonrpc": "2.0", "id": number, "method": "tools/call",
                    "params": {"name": "executeToolCode", "arguments": {"code": code}, "_meta": meta}}  # fmt: skip
            reply = await http.post(url, json=body)
            text = reply.text
            if text.startswith(("event:", "data:")):
                text = [line[5:] for line in text.splitlines() if line.startswith("data:")][-1]
            result = json.loads(text).get("result") or {}
            error = (result.get("structuredContent") or {}).get("error") or {}
            kinds.append(error.get("kind", "ok"))


async def probe(url: str, key: str, seconds: float) -> tuple[list[float], int]:
    session = WireSession(url, "inproc__echo", {"x-api-key": key})
    await session.connect()
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                await session.call()
                latencies.append((time.perf_counter() - began) * 1000.0)
            except Exception:  # noqa: BLE001 - counted
                errors += 1
                await session.close()
                session = WireSession(url, "inproc__echo", {"x-api-key": key})
                await session.connect()
            await asyncio.sleep(0.01)
    finally:
        await session.close()
    return latencies, errors


async def phase(url: str, key: str, seconds: float, load: list[str], clients: int) -> dict[str, Any]:
    stop, kinds = asyncio.Event(), []
    tasks = [
        asyncio.ensure_future(program_loop(url, key, load, stop, kinds, first=client * 2))
        for client in range(clients if load else 0)
    ]
    await asyncio.sleep(1.0 if load else 0.0)  # the programs are running before the probe starts
    latencies, errors = await probe(url, key, seconds)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    counted = {kind: kinds.count(kind) for kind in sorted(set(kinds))}
    return {"calls": len(latencies), "errors": errors, "programs": counted, **summary_ms(latencies)}


async def measure(url: str, key: str, seconds: float, rounds: int) -> dict[str, Any]:
    await phase(url, key, 2.0, [], 0)  # warm-up: the first programs start the worker pool
    await phase(url, key, 2.0, ["return 1;"], 2)
    rows: dict[str, list[dict[str, Any]]] = {"idle": [], "hostile": [], "heavy": []}
    for _ in range(rounds):
        rows["idle"].append(await phase(url, key, seconds, [], 0))
        rows["hostile"].append(await phase(url, key, seconds, HOSTILE, 4))
        rows["idle"].append(await phase(url, key, seconds, [], 0))
        rows["heavy"].append(await phase(url, key, seconds, [HEAVY], 8))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    key, port = generate_key(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateway.yaml"
        path.write_text(yaml.safe_dump(config(key)))
        argv = [sys.executable, str(HERE / "serve_gateway.py"), str(path), "--port", str(port), "--inprocess"]
        import subprocess

        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not port_is_open(port) and time.monotonic() < deadline:
                time.sleep(0.05)
            rows = asyncio.run(measure(f"http://127.0.0.1:{port}/mcp", key, args.seconds, args.rounds))
        finally:
            server.kill()
            server.wait()
    idle_p50 = statistics.median(r["p50_ms"] for r in rows["idle"])
    idle_p99 = statistics.median(r["p99_ms"] for r in rows["idle"])
    summary = {}
    for name, phases in rows.items():
        p99 = statistics.median(r["p99_ms"] for r in phases)
        summary[name] = {
            "p50_ms": round(statistics.median(r["p50_ms"] for r in phases), 3),
            "p99_ms": round(p99, 3),
            "p99_vs_idle": round(p99 / idle_p99, 2),
            "p50_vs_idle": round(statistics.median(r["p50_ms"] for r in phases) / idle_p50, 2),
            "errors": sum(r["errors"] for r in phases),
            "calls": sum(r["calls"] for r in phases),
        }
        print(name, summary[name])
    out = write_result("codemode_isolation", {**run_label(), "seconds": args.seconds, "summary": summary, "rows": rows})
    print(f"wrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
