"""Refusals at the door through four processes sharing PostgreSQL: a deactivated runtime key and unknown
keys each leave one record per refused request (and every answered call its own), in one chain."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import psycopg
import pytest

from mcp_guard.auth.keys import fingerprint, generate_key

from .cluster import admin_headers, call, verified
from .services import POSTGRES_URL, unique

pytestmark = pytest.mark.anyio

ATTEMPTS = 40  # per kind, spread round robin: far below what the per-source cap lets each process record


def records(schema: str, where: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(POSTGRES_URL) as conn:
        rows = conn.execute(f'SELECT body FROM "{schema}".audit_log WHERE {where}', params).fetchall()
    return [json.loads(body) for (body,) in rows]


async def until(count: int, schema: str, where: str, *params: Any, mine: Any = None) -> list[dict[str, Any]]:
    """The records matching `where` (and `mine`) once there are `count`: they are written a moment after
    the answer."""
    with anyio.fail_after(60):
        while True:
            found = [r for r in records(schema, where, *params) if mine is None or mine(r)]
            if len(found) >= count:
                return found
            await anyio.sleep(0.1)


async def test_refused_keys_leave_one_record_per_request_across_processes(cluster):
    deployment, processes = cluster.deployment, cluster.processes
    unknown = [generate_key() for _ in range(ATTEMPTS)]
    async with httpx2.AsyncClient(timeout=30.0) as http:
        created = await http.post(
            f"{processes[0].base_url}/mcp/keys",
            json={"name": unique("revoked"), "roles": ["worker"]},
            headers=admin_headers(deployment),
        )
        key, key_id = created.json()["key"], created.json()["id"]
        known: list[int] = []  # until every process knows the new key (its replica refreshes within a second)
        with anyio.fail_after(30):
            while known[-4:] != [200] * 4:
                known.append(await call(http, processes[len(known) % 4], key, "work/echo"))
        deactivated = await http.post(
            f"{processes[1].base_url}/mcp/keys/{key_id}/deactivate", headers=admin_headers(deployment)
        )
        assert deactivated.status_code == 200
        revoked: list[int] = []  # every answer, until each process has refused the key, then ATTEMPTS more
        with anyio.fail_after(30):
            while revoked[-4:] != [403] * 4 or len(revoked) < ATTEMPTS:
                revoked.append(await call(http, processes[len(revoked) % 4], key, "work/echo"))
        strangers = [await call(http, processes[n % 4], stranger, "work/echo") for n, stranger in enumerate(unknown)]

    # a process may still admit the key for up to `auth.cache_seconds` after the change: those calls are 200
    assert set(revoked) <= {200, 403} and set(strangers) == {401}
    of_key = await until(known.count(200) + len(revoked), deployment.schema, "key_id = %s", key_id)
    assert len(of_key) == known.count(200) + len(revoked)
    refused = [r for r in of_key if r["entry"] == "request"]
    assert len(refused) == revoked.count(403) and {r["reason"] for r in refused} == {"not_allowed"}
    assert {r["key_fingerprint"] for r in refused} == {fingerprint(key)}
    assert len([r for r in of_key if r["decision"] == "allowed"]) == known.count(200) + revoked.count(200)

    prints = {fingerprint(stranger) for stranger in unknown}
    mine = await until(
        ATTEMPTS, deployment.schema, "key_id IS NULL", mine=lambda record: record["key_fingerprint"] in prints
    )
    assert sorted(r["key_fingerprint"] for r in mine) == sorted(prints)  # each attempt once
    assert {(r["entry"], r["reason"], r["server"], r["tool"], r["client"]) for r in mine} == {
        ("request", "unauthenticated", "work", "echo", "127.0.0.1")
    }

    report = await verified(deployment)
    assert report.ok, report.problems[:5]
