"""A budget in Redis is never overspent by concurrent calls on several processes."""

from __future__ import annotations

import time

import anyio
import httpx2
import pytest

from mcp_guard.budget.storage.redis import RedisLedger

from .cluster import Caller, admin_headers

pytestmark = pytest.mark.anyio

CENT = 10_000  # micro-dollars
TEN_DOLLARS = 1000 * CENT


async def test_ten_dollars_at_a_cent_under_2000_concurrent_calls_over_4_processes(cluster):
    deployment, caller = cluster.deployment, Caller(cluster.processes, concurrency=1000)
    statuses: dict[str, list[int]] = {}

    async def spend(key: str) -> None:
        statuses[key] = await caller.many(deployment.keys[key], "work/priced", 1000)

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            group.start_soon(spend, "spender-1")
            group.start_soon(spend, "spender-2")
    every = statuses["spender-1"] + statuses["spender-2"]
    assert (every.count(200), every.count(402)) == (1000, 1000), sorted(set(every))

    ledger = RedisLedger.from_url(deployment.budget_url)
    try:
        usage = {key: await ledger.spent(key, time.time()) for key in ("customer:acme", "team:spenders")}
        usage |= {key: await ledger.spent(key, time.time()) for key in ("key:spender-1", "key:spender-2")}
    finally:
        await ledger.aclose()
    assert all(tier.reserved == 0 for tier in usage.values())
    assert usage["customer:acme"].spent == usage["team:spenders"].spent == TEN_DOLLARS
    keys = [usage["key:spender-1"].spent, usage["key:spender-2"].spent]
    assert sum(keys) == TEN_DOLLARS and max(keys) <= 800 * CENT
    assert [statuses[k].count(200) * CENT for k in ("spender-1", "spender-2")] == keys


async def test_cost_analytics_read_the_shared_audit_log(cluster):
    """`GET /analytics/costs` on any process sums what every process recorded (after the test above)."""
    process = cluster.processes[-1]
    async with httpx2.AsyncClient(headers=admin_headers(cluster.deployment)) as http:
        with anyio.fail_after(30):
            while True:
                response = await http.get(f"{process.base_url}/mcp/analytics/costs?team_id=spenders&period=day")
                body = response.json()
                if body["calls"] >= 1000:
                    break
                await anyio.sleep(0.2)
    assert response.status_code == 200
    assert body["calls"] == 1000 and body["total"] == pytest.approx(10.0)
    assert body["budget"] == 10.0 and body["remaining"] == 0.0
    assert body["usage"] == [{"tool": "work/priced", "calls": 1000, "cost": pytest.approx(10.0)}]
