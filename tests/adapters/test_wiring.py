"""Adapter wiring that the running examples do not show, checked in process (no sockets): Litestar fails
closed on the governed paths without its lifespan (and leaves the app's own routes working) and wraps the
app once however often the lifespan runs; `install` does not start the gateway twice when the app composed
its lifespan already."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from litestar import Litestar, get
from mcp_guard_litestar import MCPGuardPlugin
from mcp_guard_starlette import gateway_lifespan, install
from starlette.applications import Starlette

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config

from .launch import assert_problem

pytestmark = pytest.mark.anyio

KEY = generate_key()


def gateway(**settings: Any) -> Gateway:
    return Gateway(
        parse_config(
            {
                "roles": {"admin": {"tools": ["*"], "admin": True}},
                "keys": [{"name": "root", "hash": hash_key(KEY), "roles": ["admin"]}],
                "auth": {"store": "memory://"},
                "audit": {"sink": "memory://"},
                **settings,
            }
        )
    )


def client(app: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1")


@get("/hello")
async def hello() -> str:
    return "hello"


@get("/api/reports")
async def reports() -> str:
    return "reports"


def litestar_app(plugin: MCPGuardPlugin) -> Litestar:
    # logging_config=None: Litestar's default would configure the root logger of the whole test run
    return Litestar(route_handlers=[hello, reports], plugins=[plugin], logging_config=None)


async def test_litestar_fails_closed_on_governed_paths_when_its_lifespan_never_ran() -> None:
    app = litestar_app(MCPGuardPlugin(gateway(), govern=["/api/*"]))
    async with client(app) as http:
        assert (await http.get("/hello")).text == "hello"  # the app's own route: not the gateway's business
        for path in ("/mcp/tools", "/api/reports"):
            assert_problem(await http.get(path, headers={"x-api-key": KEY}), 503, "service_unavailable")


async def test_litestar_wraps_once_and_counts_unmatched_governed_paths_against_the_key() -> None:
    limited_gateway = gateway(rate_limits={"requests_per_key": "2/minute"})
    app = litestar_app(MCPGuardPlugin(limited_gateway, govern=["/api/*"]))
    for _ in range(2):  # a second lifespan (a test client reused, a server restarted in process)
        async with app.lifespan():
            pass
    async with app.lifespan(), client(app) as http:
        assert (await http.get("/hello")).text == "hello"  # not governed: not counted
        assert (await http.get("/mcp/tools", headers={"x-api-key": KEY})).status_code == 200
        assert (await http.get("/api/unknown", headers={"x-api-key": KEY})).status_code == 404  # counted
        limited = await http.get("/mcp/tools", headers={"x-api-key": KEY})
    assert_problem(limited, 429, "rate_limited")


async def test_install_keeps_a_lifespan_the_app_composed_itself() -> None:
    shared = gateway()
    starts = 0
    original = shared.lifespan

    @asynccontextmanager
    async def counted(app: Any = None) -> AsyncIterator[None]:
        nonlocal starts
        starts += 1
        async with original(app):
            yield

    shared.lifespan = counted  # type: ignore[method-assign]
    app = Starlette(lifespan=gateway_lifespan(shared))
    install(app, shared)
    async with app.router.lifespan_context(app), client(app) as http:
        assert (await http.get("/mcp/tools", headers={"x-api-key": KEY})).json() == {"tools": []}
    assert starts == 1
