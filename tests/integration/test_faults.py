"""Upstreams that die, vanish, come back or hang: calls fail clearly, state shows it, the gateway recovers."""

import os
import signal

import anyio
import pytest

from tests.support.servers import notes_server, notes_stdio_params

from .gateway_fixtures import mcp_client
from .upstream_fixtures import gateway_for, stdio_config, url_config, wait_until

pytestmark = pytest.mark.anyio


async def test_killed_stdio_upstream_fails_calls_then_serves_again():
    config = stdio_config("notes", notes_stdio_params(), call_timeout=10)
    async with gateway_for(config) as gateway, mcp_client(gateway.router) as client:
        upstream = gateway.upstreams["notes"]
        pid = (await client.call_tool("notes__pid", {})).structured_content["result"]
        results = []

        async def slow_call() -> None:
            results.append(await client.call_tool("notes__sleep", {"seconds": 5}))

        with anyio.fail_after(5):  # well inside the 10 s call timeout
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(slow_call)
                await anyio.sleep(0.3)
                os.killpg(pid, signal.SIGKILL)
        assert len(results) == 3
        for result in results:
            assert result.is_error and result.meta["mcp-guard/reason"] == "upstream_error"
            assert "Upstream 'notes'" in result.content[0].text
        assert upstream.status.state in ("disconnected", "connecting")
        assert upstream.status.last_error

        await wait_until(lambda: upstream.status.state == "connected", 10, "reconnect")
        new_pid = (await client.call_tool("notes__pid", {})).structured_content["result"]
        assert new_pid != pid
        assert upstream.status.reconnects >= 1


async def test_http_upstream_goes_away_and_comes_back():
    async with notes_server("http") as server:
        config = url_config("notes", server.url, health_interval=0.5, connect_timeout=2)
        async with gateway_for(config) as gateway, mcp_client(gateway.router) as client:
            upstream = gateway.upstreams["notes"]
            assert not (await client.call_tool("notes__echo", {"text": "up"})).is_error

            await server.akill()
            with anyio.fail_after(5):
                down = await client.call_tool("notes__echo", {"text": "down"})
            assert down.is_error and down.meta["mcp-guard/reason"] == "upstream_error"
            await wait_until(lambda: upstream.status.state in ("disconnected", "connecting"), 5, "state to show it")
            assert upstream.status.last_error

            await server.astart()
            await wait_until(lambda: upstream.status.state == "connected", 20, "reconnect after restart")
            assert (await client.call_tool("notes__echo", {"text": "back"})).content[0].text == "back"


async def test_upstream_down_at_start_is_reported_and_connects_later():
    async with notes_server("http") as server:
        url = server.url
    # the server is stopped now: the gateway must start anyway and report the upstream as down
    config = url_config("notes", url, connect_timeout=1)
    async with gateway_for(config) as gateway, mcp_client(gateway.router) as client:
        upstream = gateway.upstreams["notes"]
        assert upstream.status.state in ("disconnected", "connecting")
        refused = await client.call_tool("notes__echo", {"text": "x"})
        assert refused.is_error and refused.meta["mcp-guard/reason"] == "upstream_error"
        assert "Upstream 'notes' is" in refused.content[0].text and "unavailable" in refused.content[0].text
        async with notes_server("http", port=server.port):
            upstream.reconnect()  # skip the backoff wait
            await wait_until(lambda: upstream.status.state == "connected", 10, "late connection")
            assert (await client.call_tool("notes__echo", {"text": "late"})).content[0].text == "late"


async def test_hanging_tool_times_out_while_other_calls_proceed():
    config = stdio_config("notes", notes_stdio_params(), call_timeout=1)
    async with gateway_for(config) as gateway, mcp_client(gateway.router) as client:
        results = {}

        async def hang() -> None:
            results["hang"] = await client.call_tool("notes__sleep", {"seconds": 30})

        async def quick() -> None:
            await anyio.sleep(0.1)
            results["quick"] = await client.call_tool("notes__echo", {"text": "fast"})

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(hang)
                tg.start_soon(quick)
        assert results["quick"].content[0].text == "fast"
        assert results["hang"].is_error and results["hang"].meta["mcp-guard/reason"] == "upstream_timeout"
        assert "did not answer within 1 s" in results["hang"].content[0].text
        assert gateway.upstreams["notes"].status.state == "connected"
