"""Resource subscriptions through the gateway: a handshake-era client's `resources/subscribe` and a
2026-07-28 client's listen stream with `resourceSubscriptions`, over a 2026-07-28 upstream (the notes
example server, which announces updates on listen streams) and a handshake-era one (npm server-everything,
`resources/subscribe` and `notifications/resources/updated`). Subscribing is governed like reading."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.names import gateway_uri
from mcp_guard.server import standalone_app
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import everything_stdio_params, notes_server

from .test_resources_list_changed import keyed
from .upstream_fixtures import stdio_config, url_config

pytestmark = pytest.mark.anyio
README = "notes://examples/readme"
ARCHITECTURE = "demo://resource/static/document/architecture.md"


async def subscribe(client: Client, uri: str) -> None:
    """`resources/subscribe` as a handshake-era client sends it (the SDK's own method warns: 2026 removed it)."""
    request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult)


@asynccontextmanager
async def governed(*servers: Any) -> AsyncIterator[tuple[str, str, str, Gateway]]:
    """A standalone gateway on a socket, a key that may read every resource and one that may read none."""
    reader, other = generate_key(), generate_key()
    document = {
        "servers": [s.model_dump(exclude_defaults=True) for s in servers],
        "roles": {"reader": {"tools": ["*"], "resources": ["*"]}, "other": {"tools": ["*"]}},
        "keys": [
            {"name": "reader", "hash": hash_key(reader), "roles": ["reader"]},
            {"name": "other", "hash": hash_key(other), "roles": ["other"]},
        ],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://", "synchronous": True},
    }
    gateway = Gateway(parse_config(document))
    app = standalone_app(gateway)
    async with gateway.lifespan(), on_a_socket(app) as base:
        yield base, reader, other, gateway


async def updates_reach_both_eras(base: str, key: str, uri: str, trigger: Any) -> None:
    heard = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification) and message.params.uri == uri:
            heard.set()

    with anyio.fail_after(30):
        async with keyed(base, key, "legacy", message_handler=on_message) as legacy, keyed(base, key) as modern:
            await subscribe(legacy, uri)
            async with modern.listen(resource_subscriptions=[uri]) as subscription:
                assert subscription.honored is not None and subscription.honored.resource_subscriptions == [uri]
                await trigger(modern)
                async for event in subscription:
                    assert type(event).__name__ == "ResourceUpdated" and event.uri == uri
                    break
                await heard.wait()


async def test_updates_of_a_2026_upstream_reach_clients_of_both_eras():
    async with notes_server("http") as server, governed(url_config("notes", server.url)) as (base, reader, _, _gw):

        async def touch(client: Client) -> None:
            await client.call_tool("notes__touch_resource", {"uri": README})

        await updates_reach_both_eras(base, reader, gateway_uri("notes", README), touch)


@pytest.mark.node
async def test_updates_of_a_handshake_era_upstream_reach_clients_of_both_eras():
    everything = stdio_config("everything", everything_stdio_params())
    async with governed(everything) as (base, reader, _, _gw):

        async def start_updates(client: Client) -> None:
            await client.call_tool("everything__toggle-subscriber-updates", {})

        await updates_reach_both_eras(base, reader, gateway_uri("everything", ARCHITECTURE), start_updates)


async def test_a_key_that_may_not_read_a_resource_may_not_subscribe_to_it():
    async with (
        notes_server("http") as server,
        governed(url_config("notes", server.url)) as (base, reader, other, gateway),
    ):
        uri = gateway_uri("notes", README)
        with anyio.fail_after(30):
            async with keyed(base, other, "legacy") as legacy, keyed(base, other) as modern:
                with pytest.raises(MCPError) as refused:
                    await subscribe(legacy, uri)
                assert (
                    refused.value.error.code == -32602 and "not allowed for key 'other'" in refused.value.error.message
                )
                async with modern.listen(resource_subscriptions=[uri], tools_list_changed=True) as subscription:
                    assert subscription.honored is not None and not subscription.honored.resource_subscriptions
            records = await gateway.governance.audit.query(key_id="other", tool=f"notes/subscription:resource:{README}")
            assert [r["decision"] for r in records] == ["denied", "denied"]  # the subscribe and the listen


async def test_a_watch_outlives_a_restart_of_its_2026_upstream():
    """A restarted upstream loses the gateway's watch with its connection: the watch is opened again on the
    new one, and the client, still on its own stream, hears of the next update."""
    async with notes_server("http") as server, governed(url_config("notes", server.url)) as (base, reader, _, _gw):
        uri = gateway_uri("notes", README)
        heard = anyio.Event()

        async def hear(subscription: Any) -> None:
            async for event in subscription:
                assert event.uri == uri
                heard.set()

        with anyio.fail_after(60):
            async with keyed(base, reader) as client, client.listen(resource_subscriptions=[uri]) as subscription:
                async with anyio.create_task_group() as group:
                    group.start_soon(hear, subscription)
                    await server.arestart()
                    while not heard.is_set():  # touches before the watch is back are lost, as on the upstream
                        await client.call_tool("notes__touch_resource", {"uri": README})
                        with anyio.move_on_after(0.5):
                            await heard.wait()
                    group.cancel_scope.cancel()
