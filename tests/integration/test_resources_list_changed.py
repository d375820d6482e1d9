"""An upstream that announces a change of its resource list, in either era (a 2026-07-28 upstream on its
`subscriptions/listen` stream, a handshake-era one with a notification): the gateway's clients are told,
a 2026-07-28 client on its own listen stream and a handshake-era session that listed resources with
`notifications/resources/list_changed`."""

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard.names import gateway_uri
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import notes_server, notes_stdio_params

from .upstream_fixtures import gateway_for, stdio_config, url_config

pytestmark = pytest.mark.anyio


async def test_resource_list_changes_reach_clients_of_both_eras():
    heard = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceListChangedNotification):
            heard.set()

    async with notes_server("http") as server:
        upstreams = (url_config("notes", server.url), stdio_config("copy", notes_stdio_params(), protocol="legacy"))
        async with gateway_for(*upstreams) as gateway, on_a_socket(gateway.router) as base:
            assert gateway.upstreams["notes"].status.protocol_version == "2026-07-28"
            with anyio.fail_after(30):
                async with (
                    httpx2.AsyncClient() as legacy_http,
                    Client(
                        streamable_http_client(f"{base}/", http_client=legacy_http),
                        mode="legacy",
                        message_handler=on_message,
                    ) as legacy,
                    Client(f"{base}/") as modern,
                ):
                    capabilities = legacy.server_capabilities
                    assert capabilities.resources.list_changed and capabilities.prompts.list_changed
                    await legacy.list_resources()  # the session is told of the lists it has seen
                    for server_name in ("notes", "copy"):  # a 2026-07-28 upstream, then a handshake-era one
                        heard = anyio.Event()
                        async with modern.listen(resources_list_changed=True) as subscription:
                            added = await modern.call_tool(f"{server_name}__add_resource", {"name": "n", "text": "t"})
                            assert added.content[0].text == "notes://added/n"
                            async for event in subscription:
                                assert type(event).__name__ == "ResourcesListChanged"
                                break
                            await heard.wait()
                        uris = {r.uri for r in (await modern.list_resources()).resources}
                        assert gateway_uri(server_name, "notes://added/n") in uris
                        read = await legacy.read_resource(gateway_uri(server_name, "notes://added/n"))
                        assert read.contents[0].text == "t"
