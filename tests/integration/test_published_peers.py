"""Published MCP servers behind the gateway, and the MCP Inspector CLI as an independent client."""

import sys

import pytest
import yaml

from mcp_guard.auth.keys import generate_key, hash_key
from tests.support.processes import ServerProcess, free_port
from tests.support.servers import (
    InspectorError,
    everything_server,
    everything_stdio_params,
    notes_stdio_params,
    run_inspector,
    time_stdio_params,
)

from .gateway_fixtures import mcp_client
from .upstream_fixtures import gateway_for, stdio_config, url_config

pytestmark = [pytest.mark.anyio, pytest.mark.node]


@pytest.mark.parametrize("mode", ["stdio", "http"])
async def test_server_everything(mode):
    if mode == "stdio":
        async with gateway_for(stdio_config("everything", everything_stdio_params())) as gateway:
            await _exercise_everything(gateway)
        return
    async with everything_server() as server:
        async with gateway_for(url_config("everything", server.url)) as gateway:
            await _exercise_everything(gateway)


async def _exercise_everything(gateway):
    assert gateway.upstreams["everything"].status.state == "connected"
    async with mcp_client(gateway.router) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "everything__echo" in tools and "everything__get-sum" in tools
        echoed = await client.call_tool("everything__echo", {"message": "through the gateway"})
        assert "through the gateway" in echoed.content[0].text
        total = await client.call_tool("everything__get-sum", {"a": 2, "b": 3})
        assert "5" in total.content[0].text


async def test_mcp_server_time():
    async with gateway_for(stdio_config("time", time_stdio_params())) as gateway, mcp_client(gateway.router) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"time__get_current_time", "time__convert_time"}
        result = await client.call_tool("time__get_current_time", {"timezone": "Europe/Paris"})
        assert not result.is_error and "Europe/Paris" in result.content[0].text


async def test_inspector_cli_lists_and_calls_through_the_standalone_gateway(tmp_path):
    port = free_port()
    config = tmp_path / "gateway.yaml"
    notes = notes_stdio_params()
    key = generate_key()
    document = {
        "servers": {"notes": {"transport": "stdio", "command": notes.command, "args": notes.args}},
        "roles": {"dev": {"tools": ["notes/*"]}},
        "keys": [{"name": "inspector", "hash": hash_key(key), "roles": ["dev"]}],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://"},
    }
    config.write_text(yaml.safe_dump(document))
    serve = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
    auth = {"x-api-key": key}  # the inspector reserves Authorization for its own OAuth flow
    async with ServerProcess(serve, port=port, path="/mcp") as gateway:
        listed = await run_inspector(gateway.url, "tools/list", headers=auth)
        assert "notes__echo" in {t["name"] for t in listed["tools"]}
        called = await run_inspector(
            gateway.url, "tools/call", tool_name="notes__add", tool_args={"a": 20, "b": 22}, headers=auth
        )
        assert called.get("structuredContent") == {"result": 42}
        with pytest.raises(InspectorError) as refused:
            await run_inspector(gateway.url, "tools/list")  # no key
        assert refused.value.error["code"] == "auth_required"
