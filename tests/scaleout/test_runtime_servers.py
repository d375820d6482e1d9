"""A server added or removed through one gateway process is followed by another process sharing the same
PostgreSQL store within a second."""

from __future__ import annotations

import sys
import time

import anyio
import httpx2
import pytest

from tests.support.processes import ServerProcess, free_port

from .cluster import admin_headers

pytestmark = pytest.mark.anyio


async def tools_of(http: httpx2.AsyncClient, process: ServerProcess, headers: dict[str, str]) -> set[str]:
    response = await http.get(f"{process.base_url}/mcp/tools", headers=headers)
    return {tool["name"] for tool in response.json()["tools"]}


async def seconds_until(check: object, within: float) -> float:
    started = time.monotonic()
    with anyio.fail_after(within):
        while not await check():  # type: ignore[operator]
            await anyio.sleep(0.02)
    return time.monotonic() - started


async def test_the_other_process_follows_within_a_second(cluster) -> None:  # type: ignore[no-untyped-def]
    first, second = cluster.processes[0], cluster.processes[1]
    headers = admin_headers(cluster.deployment)
    port = free_port()
    upstream = ServerProcess(
        [sys.executable, "-m", "tests.observability.trace_echo_server", "--port", str(port)], port=port
    )
    async with upstream, httpx2.AsyncClient(timeout=10.0) as http:
        entry = {"name": "shared-echo", "transport": "http", "url": upstream.url, "connect_timeout": 5}
        added = await http.post(f"{first.base_url}/mcp/servers", json=entry, headers=headers)
        assert added.status_code == 201, added.text

        async def listed() -> bool:
            servers = (await http.get(f"{second.base_url}/mcp/servers", headers=headers)).json()["servers"]
            return any(server["name"] == "shared-echo" for server in servers)

        assert await seconds_until(listed, within=5) < 1.0

        # the tools arrive once the second process has connected to the new upstream
        async def callable_there() -> bool:
            return "shared-echo__seen" in await tools_of(http, second, headers)

        await seconds_until(callable_there, within=10)
        removed = await http.delete(f"{first.base_url}/mcp/servers/shared-echo", headers=headers)
        assert removed.status_code == 204

        async def gone() -> bool:
            return "shared-echo__seen" not in await tools_of(http, second, headers) and not await listed()

        assert await seconds_until(gone, within=5) < 1.0
