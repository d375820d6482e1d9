"""Requests of one client landing on different processes.

Modern (2026-07-28) clients are stateless: behind a round-robin balancer that sends every new connection to
the next process, a client that opens a connection per request still lists and calls tools. Legacy
(handshake-era) sessions live in the process that opened them: another process answers 404 to that
`Mcp-Session-Id`, which is why the balancer must route on that header (see docs/deployment.md).
"""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .proxy import TcpProxy

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
JSON_RPC = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def test_a_modern_client_works_when_consecutive_requests_hit_different_processes(cluster):
    processes = cluster.processes[:2]
    headers = {"authorization": f"Bearer {cluster.deployment.keys['auditor']}"}
    with TcpProxy([("127.0.0.1", process.port) for process in processes]) as balancer:
        # No keep-alive: every request is a new connection, so the balancer alternates between processes.
        limits = httpx2.Limits(max_keepalive_connections=0)
        async with (
            httpx2.AsyncClient(headers=headers, limits=limits) as http,
            Client(
                streamable_http_client(f"http://127.0.0.1:{balancer.port}/mcp", http_client=http), mode=MODERN
            ) as client,
        ):
            tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} == {"work__echo", "work__limited", "work__priced"}
            for index in range(6):
                result = await client.call_tool("work__echo", {"text": f"hello {index}"})
                assert not result.is_error and result.content[0].text == f"hello {index}"
        assert balancer.connections[0] >= 3 and balancer.connections[1] >= 3, balancer.connections


async def test_a_legacy_session_is_known_only_to_the_process_that_opened_it(cluster):
    opener, other = cluster.processes[0], cluster.processes[1]
    headers = {**JSON_RPC, "authorization": f"Bearer {cluster.deployment.keys['auditor']}"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    async with httpx2.AsyncClient(headers=headers) as http:
        opened = await http.post(f"{opener.url}", json=initialize)
        assert opened.status_code == 200, opened.text
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(opener.url, json=initialized, headers=session)).status_code == 202
        assert (await http.post(opener.url, json=listing, headers=session)).status_code == 200
        assert (await http.post(other.url, json=listing, headers=session)).status_code == 404
