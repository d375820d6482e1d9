"""An upstream that announces a change of its resource list, in either era (a 2026-07-28 upstream on its
`subscriptions/listen` stream, a handshake-era one with a notification): the gateway's clients are told,
a 2026-07-28 client on its own listen stream and a handshake-era session that listed resources with
`notifications/resources/list_changed`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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


@asynccontextmanager
async def keyed(base: str, key: str, mode: str = "auto", **options: Any) -> AsyncIterator[Client]:
    # a listen stream is quiet between events: httpx2's default 5 s read timeout would drop it
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {key}"}, timeout=60) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode, **options) as client:
            yield client


async def next_event(subscription: Any) -> str:
    async for event in subscription:
        return type(event).__name__
    raise AssertionError("the listen stream ended")


async def test_a_key_is_told_only_of_the_lists_it_could_see():
    """On one server, `toolsmith` may use the tools and `reader` the resources: each is told of changes of
    its own kind only (on a 2026-07-28 listen stream and in a handshake-era session), `seer` of both."""
    seer, toolsmith, reader = generate_key(), generate_key(), generate_key()
    async with notes_server("http") as server:
        document = {
            "servers": {"notes": {"transport": "http", "url": server.url}},
            "roles": {
                "seer": {"tools": ["notes/*"], "resources": ["notes/*"]},
                "toolsmith": {"tools": ["notes/*"]},
                "reader": {"resources": ["notes/*"]},
            },
            "keys": [{"name": name, "hash": hash_key(key), "roles": [name]} for name, key in
                     (("seer", seer), ("toolsmith", toolsmith), ("reader", reader))],
            "auth": {"store": "memory://"},
        }  # fmt: skip
        gateway = Gateway(parse_config(document))
        app = standalone_app(gateway)
        async with gateway.lifespan(), on_a_socket(app) as base:
            legacy_heard: list[str] = []

            async def on_message(message: object) -> None:
                legacy_heard.append(type(message).__name__)

            everything = {"resources_list_changed": True, "tools_list_changed": True}
            with anyio.fail_after(30):
                async with (
                    keyed(base, seer) as seeing,
                    keyed(base, toolsmith) as tools_only,
                    keyed(base, reader) as resources_only,
                    keyed(base, toolsmith, "legacy", message_handler=on_message) as legacy_tools_only,
                    seeing.listen(**everything) as seen,
                    tools_only.listen(**everything) as tools_seen,
                    resources_only.listen(**everything) as resources_seen,
                ):
                    assert (await legacy_tools_only.list_resources()).resources == []
                    await legacy_tools_only.list_tools()
                    await seeing.call_tool("notes__add_resource", {"name": "n", "text": "t"})
                    assert await next_event(seen) == "ResourcesListChanged"
                    assert await next_event(resources_seen) == "ResourcesListChanged"
                    await seeing.call_tool("notes__add_tool", {"name": "later"})
                    assert await next_event(seen) == "ToolsListChanged"
                    assert await next_event(tools_seen) == "ToolsListChanged"  # the resource notice never came
                    await wait_until(lambda: "ToolListChangedNotification" in legacy_heard, 10, "the tools notice")
                    assert "ResourceListChangedNotification" not in legacy_heard
                    await seeing.call_tool("notes__add_resource", {"name": "m", "text": "u"})
                    assert await next_event(seen) == "ResourcesListChanged"
                    assert await next_event(resources_seen) == "ResourcesListChanged"  # the tools notice never came
