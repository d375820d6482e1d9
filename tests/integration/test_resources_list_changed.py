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

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.names import gateway_uri
from mcp_guard.server import standalone_app
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import notes_server, notes_stdio_params

from .upstream_fixtures import gateway_for, stdio_config, url_config, wait_until

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


async def test_a_key_that_sees_nothing_of_a_server_is_not_told_its_resources_changed():
    """`blind` may use the tools of `notes` but none of its resources: told when the tools change, never
    when the resources do (neither on a 2026-07-28 listen stream nor in a handshake-era session)."""
    seer, blind = generate_key(), generate_key()
    async with notes_server("http") as server:
        document = {
            "servers": {"notes": {"transport": "http", "url": server.url}},
            "roles": {"seer": {"tools": ["notes/*"], "resources": ["notes/*"]}, "blind": {"tools": ["notes/*"]}},
            "keys": [
                {"name": "seer", "hash": hash_key(seer), "roles": ["seer"]},
                {"name": "blind", "hash": hash_key(blind), "roles": ["blind"]},
            ],
            "auth": {"store": "memory://"},
        }
        gateway = Gateway(parse_config(document))
        app = standalone_app(gateway)
        async with gateway.lifespan(), on_a_socket(app) as base:
            legacy_heard: list[str] = []

            async def on_message(message: object) -> None:
                legacy_heard.append(type(message).__name__)

            with anyio.fail_after(30):
                async with (
                    httpx2.AsyncClient(headers={"authorization": f"Bearer {seer}"}) as seer_http,
                    Client(streamable_http_client(f"{base}/mcp", http_client=seer_http)) as seeing,
                    httpx2.AsyncClient(headers={"authorization": f"Bearer {blind}"}) as blind_http,
                    Client(streamable_http_client(f"{base}/mcp", http_client=blind_http)) as modern_blind,
                    httpx2.AsyncClient(headers={"authorization": f"Bearer {blind}"}) as legacy_http,
                    Client(
                        streamable_http_client(f"{base}/mcp", http_client=legacy_http),
                        mode="legacy",
                        message_handler=on_message,
                    ) as legacy_blind,
                ):
                    assert (await legacy_blind.list_resources()).resources == []
                    await legacy_blind.list_tools()
                    async with (
                        seeing.listen(resources_list_changed=True) as seen,
                        modern_blind.listen(resources_list_changed=True, tools_list_changed=True) as unseen,
                    ):
                        await seeing.call_tool("notes__add_resource", {"name": "n", "text": "t"})
                        async for event in seen:
                            assert type(event).__name__ == "ResourcesListChanged"
                            break
                        await seeing.call_tool("notes__add_tool", {"name": "later"})  # a change everyone sees
                        async for event in unseen:
                            assert type(event).__name__ == "ToolsListChanged"  # the resource notice never came
                            break
                    await wait_until(lambda: "ToolListChangedNotification" in legacy_heard, 10, "the tools notice")
                    assert "ResourceListChangedNotification" not in legacy_heard
