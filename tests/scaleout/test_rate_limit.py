"""A rate limit shared through Redis holds exactly across processes."""

from __future__ import annotations

import anyio
import pytest

from .cluster import Caller

pytestmark = pytest.mark.anyio


async def test_100_per_minute_under_1000_concurrent_calls_over_4_processes_admits_exactly_100(cluster):
    with anyio.fail_after(60):
        statuses = await Caller(cluster.processes, concurrency=1000).many(
            cluster.deployment.keys["limited"], "work/limited", 1000
        )
    assert (statuses.count(200), statuses.count(429)) == (100, 900), sorted(set(statuses))
