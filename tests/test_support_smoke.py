"""Smoke tests for tests/support: each helper starts a real peer that a real client can use."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.subscriptions import ToolsListChanged

from tests.support.servers import (
    InspectorError,
    ServerProcess,
    ServerStartError,
    everything_server,
    everything_stdio_params,
    free_port,
    notes_server,
    notes_stdio_params,
    paged_server,
    paged_stdio_params,
    port_is_open,
    run_inspector,
    time_stdio_params,
)

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
NOTES_TOOLS = {
    "add_note", "list_notes", "search_notes", "delete_note", "echo", "add", "get_image", "get_audio",
    "get_resource", "fail", "sleep", "pid", "env", "headers", "add_tool", "add_resource",
    "touch_resource",
}  # fmt: skip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def notes_client(transport: str, mode: str, **client_options: object) -> AsyncIterator[Client]:
    """A connected client to a fresh notes server on `transport`."""
    if transport == "stdio":
        params = notes_stdio_params()
        async with Client(params, mode=mode, **client_options) as client:  # type: ignore[arg-type]
            yield client
        return
    async with notes_server(transport) as server:  # type: ignore[arg-type]
        target = server.url if transport == "http" else sse_client(server.url)
        async with Client(target, mode=mode, **client_options) as client:  # type: ignore[arg-type]
            yield client


async def all_tool_names(client: Client) -> list[str]:
    """Every tool name, following pagination."""
    names: list[str] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        names += [tool.name for tool in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return names


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("transport", ["stdio", "http", "sse"])
async def test_notes_server_tools(transport: str, mode: str) -> None:
    async with notes_client(transport, mode) as client:
        assert client.protocol_version == (MODERN if mode == "auto" else LEGACY)
        assert NOTES_TOOLS <= set(await all_tool_names(client))

        added = await client.call_tool("add_note", {"title": "milk", "body": "buy oat milk"})
        assert added.structured_content == {"id": 1, "title": "milk"}
        found = await client.call_tool("search_notes", {"query": "OAT"})
        assert found.structured_content == {"result": [{"id": 1, "title": "milk", "body": "buy oat milk"}]}
        assert (await client.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5}

        failed = await client.call_tool("fail", {"message": "boom"})
        assert failed.is_error and "boom" in failed.content[0].text  # type: ignore[union-attr]


async def test_notes_content_types() -> None:
    async with notes_client("stdio", "auto") as client:
        results = [await client.call_tool(name, {}) for name in ("get_image", "get_audio", "get_resource")]
        echoed = await client.call_tool("echo", {"text": "hi"})
    assert [result.content[0].type for result in results] == ["image", "audio", "resource"]
    assert echoed.content == [types.TextContent(type="text", text="hi")] and echoed.structured_content is None


async def test_notes_stdio_environment_is_clean() -> None:
    params = notes_stdio_params(env={"NOTES_MARKER": "set"})
    async with Client(params) as client:
        marker = await client.call_tool("env", {"name": "NOTES_MARKER"})
        leaked = await client.call_tool("env", {"name": "PYTEST_CURRENT_TEST"})
    assert marker.structured_content == {"result": "set"}
    assert leaked.structured_content == {"result": None}


async def test_notes_http_restart_on_same_port() -> None:
    async with notes_server("http") as server:
        async with Client(server.url) as client:
            first_pid = (await client.call_tool("pid", {})).structured_content
        assert first_pid == {"result": server.pid}
        url = server.url

        await server.astop()
        assert not server.running and not port_is_open(server.port)
        with pytest.raises(ProcessLookupError):
            os.kill(first_pid["result"], 0)

        await server.astart()
        async with Client(server.url) as client:
            second_pid = (await client.call_tool("pid", {})).structured_content
    assert server.url == url and second_pid != first_pid
    assert not server.running


async def test_start_failure_reports_server_output() -> None:
    argv = [sys.executable, "-c", "import sys; sys.exit('bad config: no upstreams')"]
    with pytest.raises(ServerStartError, match="bad config: no upstreams"):
        async with ServerProcess(argv, port=free_port(), startup_timeout=10):
            pass


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_notes_tools_list_changed(mode: str) -> None:
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with notes_client("http", mode, message_handler=on_message) as client:
        assert client.server_capabilities.tools and client.server_capabilities.tools.list_changed
        if client.protocol_version == MODERN:
            # 2026-07-28: change notifications only ride a subscriptions/listen stream.
            async with client.listen(tools_list_changed=True) as subscription:
                await client.call_tool("add_tool", {"name": "late_tool"})
                with anyio.fail_after(5):
                    assert await anext(aiter(subscription)) == ToolsListChanged()
        else:
            await client.call_tool("add_tool", {"name": "late_tool"})
            with anyio.fail_after(5):
                await changed.wait()
        assert "late_tool" in await all_tool_names(client)


async def test_notes_many_tools_are_not_paginated() -> None:
    async with Client(notes_stdio_params(many_tools=30)) as client:
        page = await client.list_tools()
    assert page.next_cursor is None
    assert {f"t{i:04d}" for i in range(1, 31)} <= {tool.name for tool in page.tools}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_paged_server_over_stdio_and_http(mode: str) -> None:
    expected = [f"t{i:04d}" for i in range(1, 26)]
    async with Client(paged_stdio_params(tools=25, page_size=10), mode=mode) as client:
        assert await all_tool_names(client) == expected
    async with paged_server(tools=25, page_size=10) as server, Client(server.url, mode=mode) as client:
        first = await client.list_tools()
        assert len(first.tools) == 10 and first.next_cursor
        assert await all_tool_names(client) == expected
        last = await client.call_tool("t0025", {})
        assert last.content[0].text == "t0025"  # type: ignore[union-attr]


async def test_time_server_over_stdio() -> None:
    async with Client(time_stdio_params()) as client:
        names = set(await all_tool_names(client))
    assert {"get_current_time", "convert_time"} <= names


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


@pytest.mark.node
@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_everything_server_over_http_on_loopback_only(transport: str) -> None:
    async with everything_server(transport) as server:  # type: ignore[arg-type]
        assert listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, and nothing else
        target = server.url if transport == "http" else sse_client(server.url)
        async with Client(target) as client:  # type: ignore[arg-type]
            assert client.protocol_version == LEGACY  # TypeScript SDK: handshake era
            names = await all_tool_names(client)
    assert "echo" in names and len(names) >= 10


@pytest.mark.node
async def test_everything_server_over_stdio() -> None:
    async with Client(everything_stdio_params()) as client:
        names = await all_tool_names(client)
    assert "echo" in names and len(names) >= 10


@pytest.mark.node
async def test_inspector_cli_against_notes_server() -> None:
    async with notes_server("http") as server:
        listed = await run_inspector(server.url, "tools/list")
        called = await run_inspector(server.url, "tools/call", tool_name="add", tool_args={"a": 40, "b": 2})
        seen = await run_inspector(server.url, "tools/call", tool_name="headers", headers={"X-Smoke": "yes"})
        failed = await run_inspector(server.url, "tools/call", tool_name="fail", tool_args={"message": "no"})
    assert NOTES_TOOLS <= {tool["name"] for tool in listed["tools"]}
    assert called["structuredContent"] == {"result": 42}
    assert seen["structuredContent"]["result"]["x-smoke"] == "yes"
    assert failed["isError"] is True


@pytest.mark.node
async def test_inspector_cli_reports_unreachable_server() -> None:
    with pytest.raises(InspectorError) as raised:
        await run_inspector(f"http://127.0.0.1:{free_port()}/mcp", "tools/list", timeout=30)
    assert raised.value.error["code"] == "unreachable"
