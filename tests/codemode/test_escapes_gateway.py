"""The escape suite against a running gateway (`mcp-guard serve`), through its MCP endpoint.

Each hostile program (crashes, hangs, memory, report forging, oversized data) must end in one clear error
for its own client, while another client keeps calling a plain tool: that client's error rate stays 0 and
the gateway keeps answering. Each program costs one run of one worker process, nothing more.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard.auth.keys import generate_key, hash_key
from tests.support.processes import ServerProcess, free_port

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
ANY_STOP = {"memory", "timeout", "runtime"}

# (program, the error kinds it may end with). From the hostile corpus and beyond.
HOSTILE = [
    ("return Array.prototype.sort.call({ length: 2 ** 32 - 1 });", ANY_STOP),
    ("return Array.prototype.toSorted.call({ length: 2 ** 32 - 1 });", ANY_STOP),
    ("return Array.prototype.toReversed.call({ length: 2 ** 32 - 1 });", ANY_STOP),
    ("return Array.prototype.with.call({ length: 2 ** 32 - 1 }, 0, 1);", ANY_STOP),
    ("return Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 'x');", ANY_STOP),
    ("return Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 'x');", ANY_STOP),
    ("return Array.prototype.lastIndexOf.call({ length: 2 ** 53 - 1 }, 'x');", ANY_STOP),
    ("return Array.prototype.join.call({ length: 2 ** 53 - 1 });", ANY_STOP),
    ("return Array.prototype.reverse.call({ length: 2 ** 53 - 1 });", ANY_STOP),
    ("return Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 0, 1);", ANY_STOP),
    # memory, unless a loaded machine lets the CPU or wall-clock limit come first
    ("const s = 'x'.repeat(500 * 1024 * 1024); return s.indexOf('y');", {"memory", "timeout"}),
    ("const hoard: string[] = []; while (true) hoard.push('x'.repeat(1 << 20) + hoard.length);", {"memory", "timeout"}),
    ("while (true) {}", {"timeout"}),
    (
        # The report forgery: 200,000 fake sleeps through a redefined Object.prototype.toJSON.
        "(Object.prototype as any).toJSON = function () {\n"
        "  return { requests: Array.from({ length: 200000 }, (_, i) => [i + 1, 'sleep', 30000]) };\n};\n"
        "await bulk.ping({});\nreturn 'forged';",
        ANY_STOP | {"limit"},
    ),
]
# Oversized data: each breach is a catchable ToolError of kind "limit", caught and returned by the program.
CATCH = "catch (e: any) { return [e.kind, e.limit]; }"
LIMITS = [
    (f"try {{ await bulk.blob({{ megabytes: 100 }}); }} {CATCH}", ["limit", "max_tool_result_bytes"]),
    (f"try {{ await bulk.ping({{ pad: 'x'.repeat(20 * 1024 * 1024) }} as any); }} {CATCH}",
     ["limit", "max_tool_argument_bytes"]),
]  # fmt: skip


@asynccontextmanager
async def running_gateway(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    port, key = free_port(), generate_key()
    document = {
        "servers": {"bulk": {"transport": "inprocess", "target": "tests.codemode.hostile_tools:tools"}},
        "roles": {"dev": {"tools": ["bulk/*"]}},
        "keys": [{"name": "tester", "hash": hash_key(key), "roles": ["dev"]}],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://"},
        "code_mode": {"timeout_seconds": 4, "cpu_seconds": 3, "workers": 4},
    }
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump(document))
    serve = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
    async with ServerProcess(serve, port=port, path="/mcp", cwd=ROOT) as gateway:
        yield gateway.url, key


@asynccontextmanager
async def client(url: str, key: str, **headers: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"x-api-key": key, **headers}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as session:
            yield session


async def well_behaved(url: str, key: str, stop: asyncio.Event, outcomes: list[tuple[bool, float]]) -> None:
    async with client(url, key) as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                result = await session.call_tool("bulk__ping", {})
                ok = not result.is_error and result.content[0].text == "pong"
            except Exception:
                ok = False
            outcomes.append((ok, time.perf_counter() - started))
            await asyncio.sleep(0.02)


async def run_program(url: str, key: str, code: str) -> dict[str, object]:
    async with client(url, key, **{"x-mcp-code-mode": "true"}) as session:
        result = await session.call_tool("executeToolCode", {"code": code})
    return {"is_error": result.is_error, "text": result.content[0].text, **(result.structured_content or {})}


async def test_hostile_programs_cost_one_run_each_and_nobody_else_notices(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as (url, key):
        stop, outcomes = asyncio.Event(), []
        bystander = asyncio.ensure_future(well_behaved(url, key, stop, outcomes))
        await asyncio.sleep(0.5)
        semaphore = asyncio.Semaphore(4)

        async def hostile(code: str) -> tuple[dict[str, object], float]:
            async with semaphore:
                started = time.perf_counter()
                return await run_program(url, key, code), time.perf_counter() - started

        results = await asyncio.gather(*(hostile(code) for code, _ in HOSTILE + LIMITS))
        after = await run_program(url, key, "return await bulk.ping({});")
        stop.set()
        await bystander

    for (code, kinds), (result, seconds) in zip(HOSTILE, results[: len(HOSTILE)], strict=True):
        error = result.get("error") or {}
        assert result["is_error"] and isinstance(error, dict) and error.get("kind") in kinds, (code, result["text"])
        assert error.get("message") and error.get("hint"), result["text"]
        assert "Traceback" not in str(result["text"])
        assert seconds < 4 + 2 + 5, (code, seconds)  # the run's timeout, the kill grace, slack for a busy machine
    for (code, expected), (result, _) in zip(LIMITS, results[len(HOSTILE) :], strict=True):
        assert not result["is_error"] and result["value"] == expected, (code, result["text"])
    assert after["value"] == {"result": "pong"}
    assert outcomes and all(ok for ok, _ in outcomes), f"{sum(not ok for ok, _ in outcomes)} bystander errors"
    assert max(seconds for _, seconds in outcomes) < 2.0  # generous: p99 figures are in bench/codemode_isolation.py
