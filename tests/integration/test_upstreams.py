"""The gateway in front of real upstream servers over every transport, driven by the real `mcp` client."""

import pytest
from mcp import Client

from tests.support.servers import notes_server, notes_stdio_params, paged_stdio_params

from .gateway_fixtures import mcp_client
from .upstream_fixtures import gateway_for, process_alive, stdio_config, url_config, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["stdio", "http", "sse"])
async def notes_upstream(request):
    """A `notes` server config over each transport, with its process running where it has one."""
    if request.param == "stdio":
        yield stdio_config("notes", notes_stdio_params())
        return
    async with notes_server(request.param) as server:
        yield url_config("notes", server.url, request.param)


@pytest.mark.parametrize("client_mode", ["auto", "legacy"])
async def test_every_transport_and_both_client_eras(notes_upstream, client_mode):
    async with gateway_for(notes_upstream) as gateway, mcp_client(gateway.router, client_mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"notes__add_note", "notes__echo", "notes__get_image", "notes__delete_note"} <= names
        added = await client.call_tool("notes__add_note", {"title": "t", "body": "b"})
        assert not added.is_error and added.structured_content["title"] == "t"
        assert (await client.call_tool("notes__echo", {"text": "hi"})).content[0].text == "hi"
        failed = await client.call_tool("notes__fail", {"message": "boom"})
        assert failed.is_error and "boom" in failed.content[0].text
        assert "mcp-guard/reason" not in (failed.meta or {})  # the upstream's own error, passed through


async def test_annotations_and_schemas_pass_through(notes_upstream):
    async with gateway_for(notes_upstream) as gateway, mcp_client(gateway.router) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["notes__delete_note"].annotations.destructive_hint is True
        assert tools["notes__list_notes"].annotations.read_only_hint is True
        assert tools["notes__add"].output_schema is not None


@pytest.mark.parametrize("tool", ["get_image", "get_audio", "get_resource", "add", "list_notes"])
async def test_every_content_type_passes_through_unchanged(tool):
    """Compare the gateway's answer with the same call made directly to the same upstream."""
    async with notes_server("http") as server:
        async with Client(server.url) as direct:
            expected = await direct.call_tool(tool, {} if tool != "add" else {"a": 1, "b": 2})
        async with gateway_for(url_config("notes", server.url)) as gateway, mcp_client(gateway.router) as client:
            got = await client.call_tool(f"notes__{tool}", {} if tool != "add" else {"a": 1, "b": 2})

    def dump(r):
        return r.model_dump(by_alias=True, exclude_none=True, exclude={"meta"})

    assert dump(got) == dump(expected)


async def test_discovery_reads_every_page():
    async with gateway_for(stdio_config("paged", paged_stdio_params(tools=25, page_size=10))) as gateway:
        assert gateway.upstreams["paged"].status.tool_count == 25
        async with mcp_client(gateway.router) as client:
            assert len((await client.list_tools()).tools) == 25


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_tool_list_changes_reach_the_catalog(protocol):
    async with gateway_for(stdio_config("notes", notes_stdio_params(), protocol=protocol)) as gateway:
        async with mcp_client(gateway.router) as client:
            await client.call_tool("notes__add_tool", {"name": "fresh_tool"})
            await wait_until(lambda: gateway.catalog.resolve("notes__fresh_tool") is not None, 5, "tool refresh")
            result = await client.call_tool("notes__fresh_tool", {})
            assert not result.is_error


async def test_stdio_child_gets_a_clean_environment_and_dies_with_the_gateway(monkeypatch):
    monkeypatch.setenv("MCP_GUARD_TEST_SECRET", "do-not-leak")
    params = notes_stdio_params(env={"NOTES_SETTING": "configured"})
    async with gateway_for(stdio_config("notes", params)) as gateway, mcp_client(gateway.router) as client:
        leaked = await client.call_tool("notes__env", {"name": "MCP_GUARD_TEST_SECRET"})
        configured = await client.call_tool("notes__env", {"name": "NOTES_SETTING"})
        pid = (await client.call_tool("notes__pid", {})).structured_content["result"]
    assert leaked.structured_content["result"] is None
    assert configured.structured_content["result"] == "configured"
    await wait_until(lambda: not process_alive(pid), 5, f"stdio child {pid} to exit")


async def test_server_allowlist_and_global_blocklist():
    from mcp_guard import Gateway, GatewayConfig

    server = stdio_config("notes", notes_stdio_params(), tools=["*_note", "echo"])
    gateway = Gateway(GatewayConfig(servers=[server], blocked_tools=["notes/delete_*"]))
    async with gateway.lifespan(), mcp_client(gateway.router) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"notes__add_note", "notes__echo"}
        hidden = await client.call_tool("notes__delete_note", {"id": 1})
        assert hidden.is_error and hidden.meta["mcp-guard/reason"] == "tool_not_found"
