"""In a host app the mount's protected-resource metadata is served at the origin's well-known path (outside
the mount), without credentials; an app without `auth.oauth` answers 404 there, and a 401 on the mount
points to the metadata."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from litestar import Litestar
from mcp_guard_litestar import MCPGuardPlugin
from mcp_guard_starlette import install
from starlette.applications import Starlette

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from tests.oauth.gateway import METADATA_URL, challenge, document

pytestmark = pytest.mark.anyio


def starlette_app(gateway: Gateway) -> tuple[Any, Any]:
    app = Starlette()
    install(app, gateway)
    return app, app.router.lifespan_context(app)


def litestar_app(gateway: Gateway) -> tuple[Any, Any]:
    app = Litestar(plugins=[MCPGuardPlugin(gateway)], logging_config=None)
    return app, app.lifespan()


@pytest.mark.parametrize("make_app", [starlette_app, litestar_app])
async def test_a_host_app_serves_the_metadata_outside_the_mount(make_app, tmp_path):
    config = document(["https://idp.example.com"], tmp_path)
    plain = {k: v for k, v in config.items() if k != "auth"}
    with_oauth, without = Gateway(parse_config(config)), Gateway(parse_config(plain))
    answers = []
    for gateway in (with_oauth, without):
        app, lifespan = make_app(gateway)
        async with lifespan:
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                answers.append(await http.get("/.well-known/oauth-protected-resource/mcp"))
                answers.append(await http.get("/mcp/tools"))
    metadata, refused, missing, _ = answers
    assert metadata.status_code == 200
    assert metadata.json()["authorization_servers"] == ["https://idp.example.com"]
    assert refused.status_code == 401 and challenge(refused)["resource_metadata"] == METADATA_URL
    assert missing.status_code == 404
