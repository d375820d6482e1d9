"""Redis and PostgreSQL cut off under load, then back: the configured behaviour holds, nothing is lost.

Two gateway processes reach Redis and PostgreSQL only through `TcpProxy`s. Under steady load the test
cuts both for a few seconds and restores them. With the defaults (`closed`), priced calls are refused
with 503 (budgets fail closed), runtime keys too once their replica is older than `auth.cache_seconds`,
while rate-limited calls go on (`rate_limits.fail_open: true` here); with `open`, the other way round.
Afterwards every call that reached the pipeline has its audit record, the chain verifies, the budget
booked every successful call, both processes are still up and their logs say what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import httpx2
import psycopg
import pytest

from mcp_guard.audit.postgres_store import PostgresStore
from mcp_guard.audit.verify import verify_store
from mcp_guard.budget.storage.redis import RedisLedger

from .cluster import Deployment, admin_headers, call, stop
from .proxy import TcpProxy
from .services import POSTGRES_URL, REDIS_URL, require, target_of, via

pytestmark = pytest.mark.anyio

HEALTHY, OUTAGE, RECOVERY = 2.0, 3.0, 4.0  # seconds of each phase
STALE = 1.3  # the replica counts as unreachable after cache_seconds (1 s) plus a refresh; some margin
SETTLE = 1.0  # calls this long after a change of phase are judged (retries and reconnects happen first)
CENT = 10_000


@dataclass(frozen=True)
class Sample:
    kind: str  # priced | limited | runtime
    started: float
    ended: float
    status: int


MODES = {
    # budgets and auth fail closed (the defaults); rate limits configured to fail open
    "closed": {"budgets": {}, "auth": {}, "rate_limits": {"fail_open": True}, "outage": (503, 200, 503)},
    "open": {
        "budgets": {"fail_open": True},
        "auth": {"fail_open": True},
        "rate_limits": {"fail_open": False},
        "outage": (200, 503, 200),
    },
}


@pytest.mark.parametrize("mode", ["closed", "open"])
async def test_redis_and_postgres_cut_during_load_then_back(mode, tmp_path):
    require(REDIS_URL)
    require(POSTGRES_URL)
    settings = MODES[mode]
    with TcpProxy([target_of(REDIS_URL)]) as redis_proxy, TcpProxy([target_of(POSTGRES_URL)]) as pg_proxy:
        deployment = Deployment(
            redis_url=via(REDIS_URL, redis_proxy.port), postgres_url=via(POSTGRES_URL, pg_proxy.port)
        )
        config = deployment.config(
            customers={"acme": {"budget": {"limit": 1000.0, "period": "1d"}}},
            teams={"spenders": {"customer": "acme", "budget": {"limit": 1000.0, "period": "1d"}}},
            budgets=settings["budgets"],
            auth=settings["auth"],
            # Queued records: this test is about the fail modes of budgets, rate limits and keys. With the
            # default `durability: commit`, every call would wait for PostgreSQL to come back for its record
            # (tests/audit/test_log.py checks that), and no call would end during the outage.
            audit={"durability": "queued"},
            rate_limits={**settings["rate_limits"], "rules": [{"limit": "100000/minute", "tools": "work/limited"}]},
        )
        processes = deployment.start(tmp_path, 2, config)
        try:
            samples, cut_at, restored_at = await _load_through_an_outage(deployment, processes, redis_proxy, pg_proxy)
            await _check(mode, deployment, processes, samples, cut_at, restored_at)
        finally:
            stop(processes)
            deployment.postgres_url = POSTGRES_URL  # clean up directly, not through the proxy
            deployment.cleanup()
    logs = "\n".join(process.output for process in processes)
    # One line when an outage starts and one when it ends, not a traceback per call; nothing crashed.
    for crash in ("Exception in ASGI application", "failed to admit a call", "failed to settle"):
        assert crash not in logs
    assert "Key store" in logs and "is unreachable" in logs and "is reachable again" in logs
    assert "Audit store" in logs and "works again" in logs
    if mode == "closed":
        assert "Budget storage" in logs and "refusing priced calls with 503" in logs


async def _load_through_an_outage(deployment, processes, redis_proxy, pg_proxy):
    samples: list[Sample] = []
    runtime_key = await _runtime_key(deployment, processes)
    keys = {"priced": deployment.keys["faulty"], "limited": deployment.keys["faulty"], "runtime": runtime_key}
    tools = {"priced": "work/priced", "limited": "work/limited", "runtime": "work/echo"}
    stopping = anyio.Event()

    async def worker(index: int, http: httpx2.AsyncClient) -> None:
        kind = ("priced", "limited", "runtime")[index % 3]
        turn = index
        while not stopping.is_set():
            process = processes[turn % len(processes)]
            started = time.monotonic()
            status = await call(http, process, keys[kind], tools[kind])
            samples.append(Sample(kind, started, time.monotonic(), status))
            turn += 1
            await anyio.sleep(0.02)

    async with httpx2.AsyncClient(timeout=30.0) as http, anyio.create_task_group() as group:
        for index in range(24):
            group.start_soon(worker, index, http)
        await anyio.sleep(HEALTHY)
        cut_at = time.monotonic()
        redis_proxy.cut()
        pg_proxy.cut()
        await anyio.sleep(OUTAGE)
        redis_proxy.restore()
        pg_proxy.restore()
        restored_at = time.monotonic()
        await anyio.sleep(RECOVERY)
        stopping.set()
    return samples, cut_at, restored_at


async def _runtime_key(deployment, processes) -> str:
    async with httpx2.AsyncClient(timeout=10.0) as http:
        created = await http.post(
            f"{processes[0].base_url}/mcp/keys",
            json={"name": "runtime", "roles": ["worker"], "team": "spenders"},
            headers=admin_headers(deployment),
        )
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        with anyio.fail_after(5):
            for process in processes:
                while await call(http, process, key, "work/echo") != 200:
                    await anyio.sleep(0.05)
    return key


async def _check(mode, deployment, processes, samples, cut_at, restored_at):
    healthy = [s for s in samples if s.ended < cut_at or s.started > restored_at + SETTLE]
    outage = [s for s in samples if s.started > cut_at + STALE and s.ended < restored_at]
    assert len(healthy) > 100 and len(outage) > 50, (len(healthy), len(outage))
    failed = {(s.kind, s.status, round(s.started - restored_at, 2)) for s in healthy if s.status != 200}
    assert not failed, sorted(failed)
    expected = dict(zip(("priced", "limited", "runtime"), MODES[mode]["outage"], strict=True))
    seen = {(s.kind, s.status) for s in outage}
    assert seen == set(expected.items()), sorted(seen)
    assert all(process.running for process in processes)

    # Every call the pipeline saw (all but the runtime key's 503s, refused before it) is audited; those
    # 503s are refusals at the door, recorded as such up to the per-source cap (`audit.refusals`).
    refused = sum(1 for s in samples if s.kind == "runtime" and s.status == 503)
    audited = len(samples) - refused + len(processes)  # + the calls that waited for the runtime key
    with anyio.fail_after(60):
        while _records(deployment.schema)[0] < audited:
            await anyio.sleep(0.25)
    calls, unavailable, at_the_door = _records(deployment.schema)
    assert calls == audited
    assert (unavailable > 0) == (refused > 0) and unavailable <= refused
    audited += at_the_door  # also the 401s of the runtime key before every process knew it
    direct = Deployment(name=deployment.name)
    store = PostgresStore.from_uri(direct.postgres_sink, create=False)
    try:
        report = await anyio.to_thread.run_sync(verify_store, store)
    finally:
        store.close()
    assert report.ok and report.checked == audited, report.problems[:5]

    ledger = RedisLedger.from_url(direct.budget_url)
    try:
        team = await ledger.spent("team:spenders", time.time())
    finally:
        await ledger.aclose()
    booked = sum(1 for s in samples if s.kind == "priced" and s.status == 200) * CENT
    if mode == "closed":  # every admitted call was booked, those settled during the outage included
        assert team.spent == booked
        # A reservation whose reply the cut lost waits for its TTL: at most one per priced call under way then.
        cut_off = sum(1 for s in samples if s.kind == "priced" and s.started <= cut_at <= s.ended)
        assert team.reserved <= cut_off * CENT, (team.reserved, cut_off)
    else:  # calls admitted unbudgeted during the outage are not booked
        assert team.spent < booked


def _records(schema: str) -> tuple[int, int, int]:
    """Records of tool calls; of requests refused at the door because a store was down (503); of all
    requests refused at the door (entry `request`)."""
    door = "body::json ->> 'entry' = 'request'"
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(
            f"SELECT COUNT(*) FILTER (WHERE NOT {door}), "
            f"COUNT(*) FILTER (WHERE {door} AND body::json ->> 'outcome' = 'failed'), "
            f'COUNT(*) FILTER (WHERE {door}) FROM "{schema}".audit_log'
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
