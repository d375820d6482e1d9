"""`POST/GET/PUT/PATCH/DELETE /mcp/servers…`: servers added, changed, disabled and removed while the
gateway runs, validated as at start-up, admin only, kept in the store, reflected in the catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.integration.upstream_fixtures import wait_until
from tests.observability.world import World, rest_call
from tests.support.processes import ServerProcess, free_port

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def gateway_on(store: str, **extra: Any) -> AsyncIterator[tuple[World, Gateway, httpx2.AsyncClient]]:
    world = World()
    document = world.document(**extra)
    document["teams"]["red"] = {}
    document["auth"] = {"store": store}
    gateway = Gateway(parse_config(document), inprocess=[make_tools()])
    app = standalone_app(gateway)  # as `mcp-guard serve` does: built first, so the store opens at start
    async with gateway.lifespan(), http_client(app) as http:
        yield world, gateway, http


def admin(world: World) -> dict[str, str]:
    return {"authorization": f"Bearer {world.admin}"}


async def tool_names(http: httpx2.AsyncClient, world: World) -> set[str]:
    response = await http.get("/mcp/tools", headers=admin(world))
    return {tool["name"] for tool in response.json()["tools"]}


async def test_add_change_disable_and_remove_a_server(tmp_path: Path, echo: ServerProcess) -> None:
    async with gateway_on(f"sqlite:///{tmp_path}/keys.db") as (world, gateway, http):
        entry = {"name": "echo", "transport": "http", "url": echo.url, "headers": {"Authorization": "Bearer s3cret"}}
        created = await http.post("/mcp/servers", json=entry, headers=admin(world))
        assert created.status_code == 201, created.text
        assert created.json()["source"] == "runtime" and created.json()["config"]["headers"] == {"Authorization": "***"}
        assert "s3cret" not in created.text
        await wait_until(lambda: gateway.catalog.resolve("echo__seen") is not None, 10, "echo's tools")
        assert "echo__seen" in await tool_names(http, world)
        assert (await rest_call(http, world.admin, "echo__seen")).status_code == 200

        patched = await http.patch("/mcp/servers/echo", json={"call_timeout": 5}, headers=admin(world))
        assert patched.status_code == 200 and patched.json()["config"]["call_timeout"] == 5
        await wait_until(lambda: gateway.upstreams["echo"].config.call_timeout == 5, 10, "the new upstream")
        assert (await rest_call(http, world.admin, "echo__seen")).status_code == 200

        disabled = await http.post("/mcp/servers/echo/disable", headers=admin(world))
        assert disabled.status_code == 200 and disabled.json()["state"] == "disabled"
        assert "echo__seen" not in await tool_names(http, world)
        assert (await http.post("/mcp/servers/echo/enable", headers=admin(world))).status_code == 200
        await wait_until(lambda: gateway.catalog.resolve("echo__seen") is not None, 10, "echo back")

        listed = (await http.get("/mcp/servers", headers=admin(world))).json()["servers"]
        assert {(s["name"], s["source"]) for s in listed} == {("calc", "config"), ("echo", "runtime")}
        assert (await http.delete("/mcp/servers/echo", headers=admin(world))).status_code == 204
        assert "echo" not in gateway.upstreams and gateway.catalog.resolve("echo__seen") is None
        assert (await http.get("/mcp/servers/echo", headers=admin(world))).status_code == 404

    # kept in the store: a new gateway on the same store starts with what the API left there
    async with gateway_on(f"sqlite:///{tmp_path}/keys.db") as (world, gateway, http):
        assert "echo" not in gateway.upstreams
        entry = {"name": "later", "transport": "http", "url": echo.url}
        assert (await http.post("/mcp/servers", json=entry, headers=admin(world))).status_code == 201
    async with gateway_on(f"sqlite:///{tmp_path}/keys.db") as (world, gateway, http):
        assert gateway.upstreams["later"].status.state == "connected"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "x", "transport": "http"}, 400, "needs 'url'"),
        ({"name": "x", "transport": "http", "url": "http://h/mcp", "comand": "y"}, 400, "comand"),
        ({"name": "bad name!", "transport": "http", "url": "http://h/mcp"}, 400, "name"),
        ({"name": "x", "transport": "stdio", "command": "sh"}, 400, "servers_api.transports"),
        ({"name": "x", "transport": "inprocess", "target": "os:system"}, 400, "inprocess"),
        ({"name": "calc", "transport": "http", "url": "http://h/mcp"}, 409, "exists"),
        ({"transport": "http", "url": "http://h/mcp"}, 400, "name"),
        (["not", "an", "object"], 400, "JSON object"),
    ],
)
async def test_bad_entries_are_refused_as_at_start_up(body: Any, status: int, words: str) -> None:
    async with gateway_on("memory://") as (world, gateway, http):
        response = await http.post("/mcp/servers", json=body, headers=admin(world))
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]
        assert set(gateway.upstreams) == {"calc"}


async def test_only_admins_and_only_runtime_servers_change() -> None:
    async with gateway_on("memory://") as (world, gateway, http):
        entry = {"name": "x", "transport": "http", "url": "http://127.0.0.1:9/mcp"}
        assert (await http.post("/mcp/servers", json=entry)).status_code == 401
        worker = {"authorization": f"Bearer {world.worker}"}
        assert (await http.post("/mcp/servers", json=entry, headers=worker)).status_code == 403
        assert (await http.delete("/mcp/servers/calc", headers=worker)).status_code == 403
        for method in ("put", "delete"):
            kwargs: dict[str, Any] = {"json": {**entry, "name": "calc"}} if method == "put" else {}
            response = await getattr(http, method)("/mcp/servers/calc", headers=admin(world), **kwargs)
            assert response.status_code == 409 and "configuration file" in response.json()["detail"]
        patched = await http.patch("/mcp/servers/calc", json={"call_timeout": 3}, headers=admin(world))
        assert patched.status_code == 409
        # a file server can be switched off and on at runtime
        assert (await http.patch("/mcp/servers/calc", json={"enabled": False}, headers=admin(world))).status_code == 200
        assert gateway.upstreams["calc"].status.state == "disabled" and gateway.catalog.resolve("calc__add") is None
        assert (await http.post("/mcp/servers/calc/enable", headers=admin(world))).status_code == 200
        await wait_until(lambda: gateway.catalog.resolve("calc__add") is not None, 10, "calc back")


@asynccontextmanager
async def on_a_socket(app: Any) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port (streamed responses need a real server), its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        await wait_until(lambda: server.started, 10, "uvicorn")
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


async def test_clients_are_told_the_tool_list_changed(echo: ServerProcess) -> None:
    """A 2026-07-28 client on its `subscriptions/listen` stream and a handshake-era session both hear of a
    server added through the API."""
    async with gateway_on("memory://") as (world, gateway, http):
        heard_legacy = anyio.Event()

        async def on_message(message: object) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                heard_legacy.set()

        async with on_a_socket(http._transport.app) as base:  # type: ignore[attr-defined]
            with anyio.fail_after(30):
                async with (
                    httpx2.AsyncClient(headers=admin(world)) as legacy_http,
                    Client(
                        streamable_http_client(f"{base}/mcp", http_client=legacy_http),
                        mode="legacy",
                        message_handler=on_message,
                    ) as legacy,
                    httpx2.AsyncClient(headers=admin(world)) as modern_http,
                    Client(streamable_http_client(f"{base}/mcp", http_client=modern_http)) as modern,
                ):
                    await legacy.list_tools()
                    async with modern.listen(tools_list_changed=True) as subscription:
                        entry = {"name": "echo", "transport": "http", "url": echo.url}
                        assert (await http.post("/mcp/servers", json=entry, headers=admin(world))).status_code == 201
                        async for _event in subscription:
                            break
                        await heard_legacy.wait()
                    names = {tool.name for tool in (await modern.list_tools()).tools}
                    assert "echo__seen" in names
                    capabilities = legacy.server_capabilities.tools
                    assert capabilities is not None and capabilities.list_changed
