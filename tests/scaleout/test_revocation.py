"""A runtime key deactivated through one process is refused by every process within one second."""

from __future__ import annotations

import time

import anyio
import httpx2
import pytest

from .cluster import admin_headers, call

pytestmark = pytest.mark.anyio


async def wait_for(http, process, key, status, *, within):
    """Poll until a call with `key` on `process` answers `status`; the seconds it took."""
    started = time.monotonic()
    with anyio.fail_after(within):
        while await call(http, process, key, "work/echo") != status:
            await anyio.sleep(0.01)
    return time.monotonic() - started


async def test_a_deactivated_key_is_refused_by_every_process_within_one_second(cluster):
    first, second = cluster.processes[0], cluster.processes[1]
    async with httpx2.AsyncClient(timeout=10.0) as http:
        created = await http.post(
            f"{first.base_url}/mcp/keys",
            json={"name": "short-lived", "roles": ["worker"]},
            headers=admin_headers(cluster.deployment),
        )
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["id"]
        assert await call(http, first, key, "work/echo") == 200  # its own change: at once
        for process in cluster.processes:  # the others within their refresh interval
            await wait_for(http, process, key, 200, within=1.0)

        response = await http.post(
            f"{second.base_url}/mcp/keys/{key_id}/deactivate", headers=admin_headers(cluster.deployment)
        )
        assert response.status_code == 200 and response.json()["active"] is False
        delays: list[float] = []

        async def refused(process):
            delays.append(await wait_for(http, process, key, 403, within=2.0))

        async with anyio.create_task_group() as group:
            for process in cluster.processes:
                group.start_soon(refused, process)
        listed = await http.get(f"{first.base_url}/mcp/keys", headers=admin_headers(cluster.deployment))
    assert max(delays) <= 1.0, delays
    print(f"\nrefused by all {len(delays)} processes after {', '.join(f'{d:.2f}' for d in sorted(delays))} s")
    assert any(item["id"] == key_id and not item["active"] for item in listed.json()["keys"])
