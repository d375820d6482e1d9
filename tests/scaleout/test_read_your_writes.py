"""Read your writes: a call's record is in the shared audit log by the time the call is answered, so
`GET /mcp/audit` on any process and `mcp-guard audit tail` show it at once (`audit.durability: commit`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import anyio
import httpx2
import pytest

from mcp_guard.cli import main as mcp_guard

from .cluster import admin_headers

pytestmark = pytest.mark.anyio

CALLS = 20


async def test_each_call_is_in_the_audit_log_when_it_is_answered(cluster, capsys):
    deployment, processes = cluster.deployment, cluster.processes
    headers = admin_headers(deployment)
    async with httpx2.AsyncClient(headers=headers, timeout=30.0) as http:
        with anyio.fail_after(60):
            for n in range(CALLS):
                text = f"read-your-writes-{n}"
                caller, reader = processes[n % len(processes)], processes[(n + 1) % len(processes)]
                call = {"name": "work/echo", "arguments": json.dumps({"text": text})}
                answer = await http.post(
                    f"{caller.base_url}/mcp/tool/execute", json={"id": "c", "type": "function", "function": call}
                )
                assert answer.status_code == 200 and answer.json()["content"] == text

                listed = await http.get(f"{reader.base_url}/mcp/audit", params={"key": "admin", "limit": 1})
                assert listed.status_code == 200
                (newest,) = listed.json()["records"]
                assert newest["arguments"] == {"text": text}, (n, newest)

                assert mcp_guard(["audit", "tail", "--sink", deployment.postgres_sink, "-n", "1"]) == 0
                tail = capsys.readouterr().out.splitlines()
                assert len(tail) == 1 and tail[0].startswith(_shown(newest["time"])), (tail, newest)
                assert "admin" in tail[0] and "work/echo" in tail[0]


def _shown(epoch: float) -> str:
    """A record's time as `audit tail` prints it."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
