"""10,000 calls over four processes: 10,000 records in PostgreSQL, one chain that verifies."""

from __future__ import annotations

import subprocess
import sys
import time

import anyio
import psycopg
import pytest

from .cluster import Caller, verified
from .services import POSTGRES_URL, count_records

pytestmark = pytest.mark.anyio

CALLS = 10_000


async def test_10000_calls_make_10000_records_and_the_chain_verifies(cluster):
    deployment = cluster.deployment
    started = time.perf_counter()
    with anyio.fail_after(180):
        statuses = await Caller(cluster.processes, concurrency=400).many(deployment.keys["auditor"], "work/echo", CALLS)
        assert statuses.count(200) == CALLS, sorted(set(statuses))
        while count_records(deployment.schema, key_id="auditor") < CALLS:
            await anyio.sleep(0.2)
    elapsed = time.perf_counter() - started
    assert count_records(deployment.schema, key_id="auditor") == CALLS
    with psycopg.connect(POSTGRES_URL) as conn:
        distinct = conn.execute(
            f'SELECT COUNT(DISTINCT call_id) FROM "{deployment.schema}".audit_log WHERE key_id = %s', ("auditor",)
        ).fetchone()
    assert distinct == (CALLS,)

    report = await verified(deployment)
    assert report.ok, report.problems[:5]
    assert report.checked >= CALLS and report.head.seq == report.checked
    print(f"\n{CALLS} calls through 4 processes, all recorded, in {elapsed:.1f} s")


def test_the_cli_verifies_the_postgres_chain(cluster):
    done = subprocess.run(
        [sys.executable, "-m", "mcp_guard.cli", "audit", "verify", "--sink", cluster.deployment.postgres_sink],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chain intact" in done.stdout
