"""Tool calls to stdio upstreams over the gateway's direct path (`upstreams/direct_stdio.py`): the same
results and errors as the SDK client on the same connection (a differential test against real servers),
and the SDK path's guarantees kept: timeouts and cancellation reach the child, a child dying mid-call
fails the call and is respawned, and lines the reader cannot use never break the gateway."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import MCPError, StdioServerParameters

from mcp_guard.errors import UpstreamError, UpstreamTimeout
from mcp_guard.upstreams import stdio
from mcp_guard.upstreams.client import ClientUpstream
from mcp_guard.upstreams.direct_stdio import DirectStdioCaller
from mcp_guard.upstreams.link import Link
from tests.support.servers import everything_stdio_params, notes_stdio_params, time_stdio_params

from .upstream_fixtures import gateway_for, stdio_config, wait_until

pytestmark = pytest.mark.anyio

NOTES_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"text": "héllo \u2028 \U0001f600"}),
    ("add", {"a": 2, "b": 40}),  # structured content checked against the output schema
    ("get_image", {}),
    ("get_audio", {}),
    ("get_resource", {}),
    ("list_notes", {}),
    ("fail", {"message": "boom"}),  # an error result
    ("add", {"a": "two", "b": 1}),  # arguments the server refuses
    ("no_such_tool", {}),
    ("echo", {"text": "\ud800"}),  # cannot be encoded as UTF-8: refused by the gateway, that call alone
]
EVERYTHING_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"message": "hi"}),
    ("get-sum", {"a": 1, "b": 2}),
    ("get-tiny-image", {}),
    ("get-structured-content", {"location": "New York"}),
    ("get-resource-links", {"count": 2}),
    ("get-annotated-message", {"messageType": "error", "includeImage": True}),
    ("get-sum", {"a": "x"}),
    ("no-such-tool", {}),
]
TIME_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}),
    ("get_current_time", {"timezone": "Not/AZone"}),
    ("convert_time", {"source_timezone": "UTC", "time": "25:00", "target_timezone": "UTC"}),
]


async def connected(upstream: Any) -> Link:
    """The upstream's connection, once it is up (a short call timeout also bounds the first handshake)."""
    await wait_until(lambda: upstream._link is not None, 15, "the connection")
    link = upstream._link
    assert link is not None and isinstance(link.direct, DirectStdioCaller)
    return link


async def outcome(call: Awaitable[Any]) -> tuple[Any, ...]:
    """A call's result as the wire would carry it, or its error's code, message and data."""
    try:
        result = await call
    except MCPError as exc:
        return ("error", exc.code, exc.message, exc.error.data)
    return ("result", result.model_dump(by_alias=True, mode="json", exclude_none=True))


async def compare(params: StdioServerParameters, calls: list[tuple[str, dict[str, Any]]], protocol: str) -> None:
    async with gateway_for(stdio_config("up", params, protocol=protocol)) as gateway:
        link = await connected(gateway.upstreams["up"])
        assert link.direct is not None
        for tool, arguments in calls:
            direct = await outcome(link.direct.call(tool, arguments))
            sdk = await outcome(link.client.call_tool(tool, arguments))
            assert direct == sdk, tool
        assert link.direct._next_id == len(calls)  # type: ignore[union-attr]


@pytest.mark.parametrize("protocol", ["auto", "legacy"])  # 2026-07-28, and the handshake era (2025-11-25)
async def test_the_example_server_answers_the_direct_path_as_it_answers_the_sdk(protocol):
    await compare(notes_stdio_params(), NOTES_CALLS, protocol)


async def test_mcp_server_time_answers_the_direct_path_as_it_answers_the_sdk():
    await compare(time_stdio_params(), TIME_CALLS, "auto")


@pytest.mark.node
async def test_server_everything_answers_the_direct_path_as_it_answers_the_sdk():
    await compare(everything_stdio_params(), EVERYTHING_CALLS, "auto")


async def test_concurrent_calls_each_get_their_own_answer():
    """Answers arrive in any order, interleaved with the session's traffic (a listing, made meanwhile)."""
    async with gateway_for(stdio_config("notes", notes_stdio_params())) as gateway:
        upstream = gateway.upstreams["notes"]
        assert isinstance(upstream, ClientUpstream)
        await connected(upstream)
        answers: dict[int, str] = {}

        async def call(n: int) -> None:
            arguments = {"seconds": (n % 5) / 50} if n % 2 else {"text": f"call {n}"}
            result = await upstream.call("sleep" if n % 2 else "echo", arguments)
            answers[n] = result.content[0].text  # type: ignore[union-attr]

        with anyio.fail_after(15):
            async with anyio.create_task_group() as tasks:
                for n in range(40):
                    tasks.start_soon(call, n)
                tools = await upstream.request("tools/list", lambda client: client.list_tools())
        assert answers == {n: f"slept {(n % 5) / 50:g}" if n % 2 else f"call {n}" for n in range(40)}
        assert "echo" in {tool.name for tool in tools.tools}


async def slow_calls(upstream: ClientUpstream) -> dict[str, int]:
    result = await upstream.call("slow_calls", {})
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_a_timed_out_call_is_cancelled_in_the_child(protocol):
    # A handshake-era child may take longer than the call timeout to answer `initialize`: the connect timeout
    # bounds the handshake, the call timeout only the calls
    config = stdio_config("notes", notes_stdio_params(), call_timeout=2.0, protocol=protocol)
    async with gateway_for(config) as gateway:
        upstream = gateway.upstreams["notes"]
        assert isinstance(upstream, ClientUpstream)
        await connected(upstream)
        with anyio.fail_after(8), pytest.raises(UpstreamTimeout, match="did not answer within 2 s"):
            await upstream.call("count_slowly", {"steps": 600, "interval": 0.1})
        with anyio.fail_after(10):
            while (await slow_calls(upstream))["cancelled"] != 1:
                await anyio.sleep(0.05)
        assert (await upstream.call("echo", {"text": "still here"})).content[0].text == "still here"  # type: ignore[union-attr]


async def test_a_caller_that_gives_up_cancels_the_call_in_the_child():
    async with gateway_for(stdio_config("notes", notes_stdio_params(), protocol="legacy")) as gateway:
        upstream = gateway.upstreams["notes"]
        assert isinstance(upstream, ClientUpstream)
        await connected(upstream)
        with anyio.move_on_after(0.5):
            await upstream.call("count_slowly", {"steps": 600, "interval": 0.1})
        with anyio.fail_after(10):
            while (await slow_calls(upstream))["cancelled"] != 1:
                await anyio.sleep(0.05)
        assert (await connected(upstream)).direct.pipe._waiting == {}  # type: ignore[union-attr]


async def test_a_child_that_dies_mid_call_fails_the_call_and_is_respawned():
    async with gateway_for(stdio_config("notes", notes_stdio_params())) as gateway:
        upstream = gateway.upstreams["notes"]
        assert isinstance(upstream, ClientUpstream)
        first = await connected(upstream)
        pid = (await upstream.call("pid", {})).structured_content["result"]  # type: ignore[index]
        failures: list[BaseException] = []

        async def long_call() -> None:
            try:
                await upstream.call("sleep", {"seconds": 30})
            except UpstreamError as exc:
                failures.append(exc)

        with anyio.fail_after(5):  # far below the call's 30 s: the death is noticed, not waited out
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(long_call)
                await anyio.sleep(0.3)
                os.kill(pid, signal.SIGKILL)
        assert len(failures) == 1 and "closed the connection" in str(failures[0])
        await wait_until(lambda: upstream._link is not None and upstream._link is not first, 15, "a respawned child")
        again = await upstream.call("pid", {})
        assert again.structured_content["result"] != pid  # type: ignore[index]


HOSTILE_SERVER = textwrap.dedent(
    """
    # Answers like an MCP server, but puts lines the gateway must survive before each tools/call answer.
    import json, sys, time
    TOOL = {"name": "echo", "inputSchema": {"type": "object"}}
    def send(text):
        sys.stdout.write(text + "\\n"); sys.stdout.flush()
    for line in sys.stdin:
        message = json.loads(line)
        method, rid = message.get("method"), message.get("id")
        if method == "initialize":
            result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "hostile", "version": "1"}}
        elif method == "tools/list":
            result = {"tools": [TOOL]}
        elif method == "tools/call":
            text = message["params"]["arguments"].get("text", "")
            if text == "huge":
                sys.stdout.write('{"jsonrpc": "2.0", "id": "' + "x" * 5000); sys.stdout.flush()  # no newline
                time.sleep(1)  # the gateway reads past its line limit (4 KiB here) before any newline comes
            send('{"id": "mcpg-' + "broken")  # has our mark, is not JSON
            send(json.dumps({"jsonrpc": "2.0", "id": "mcpg-999", "result": {"content": []}}))  # nobody's
            send(json.dumps({"jsonrpc": "2.0", "id": "mcpg-7", "method": "ping"}))  # a request, with our mark
            send("not json at all")
            result = {"content": [{"type": "text", "text": text}]}
        elif rid is None:
            continue
        else:
            result = {}
        send(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}))
    """
)


async def test_lines_the_reader_cannot_use_do_not_break_the_gateway(tmp_path: Path, monkeypatch):
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE_SERVER)
    monkeypatch.setattr(stdio, "MAX_LINE", 4096)
    params = StdioServerParameters(command=sys.executable, args=[str(script)])
    async with gateway_for(stdio_config("hostile", params, protocol="legacy")) as gateway:
        upstream = gateway.upstreams["hostile"]
        assert isinstance(upstream, ClientUpstream)
        first = await connected(upstream)
        for text in ("one", "two"):  # each answer arrives behind four unusable lines
            with anyio.fail_after(5):
                assert (await upstream.call("echo", {"text": text})).content[0].text == text  # type: ignore[union-attr]
        with anyio.fail_after(5), pytest.raises(UpstreamError, match="closed the connection"):
            await upstream.call("echo", {"text": "huge"})  # an oversized line ends the connection, not the gateway
        await wait_until(lambda: upstream._link is not None and upstream._link is not first, 15, "a new connection")
        assert (await upstream.call("echo", {"text": "back"})).content[0].text == "back"  # type: ignore[union-attr]
