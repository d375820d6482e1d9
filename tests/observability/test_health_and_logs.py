"""`/healthz` and `/readyz` without a key (standalone, in a host app, and as a mountable app), readiness
rules, and the one structured log line per call or request."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from mcp_guard_starlette import install
from starlette.applications import Starlette
from starlette.routing import Mount

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.observability.logformat import JsonFormatter, LogfmtFormatter
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools

from .world import World, rest_call, served

pytestmark = pytest.mark.anyio


async def test_health_endpoints_need_no_key_and_readiness_follows_the_rule() -> None:
    world = World()
    dead = {"transport": "http", "url": "http://127.0.0.1:9/mcp", "connect_timeout": 0.5}
    async with served(world, servers={"gone": dead}) as (_, http):
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")  # rule `any`: calc and ops are connected
        assert ready.status_code == 200 and ready.json()["upstreams"]["gone"] in ("disconnected", "connecting")
        assert (await http.get("/mcp/tools")).status_code == 401  # everything else still needs a key
        assert (await http.post("/healthz")).status_code == 405
    async with served(world, servers={"gone": dead}, observability={"readiness": {"upstreams": "all"}}) as (_, http):
        report = (await http.get("/readyz")).json()
        assert report["status"] == "not_ready" and any("'gone'" in reason for reason in report["reasons"])
    async with served(world, servers={"gone": dead}, observability={"readiness": {"upstreams": ["calc"]}}) as (_, h):
        assert (await h.get("/readyz")).status_code == 200


async def test_not_ready_before_start_and_paths_are_configurable() -> None:
    world = World()
    document = world.document(observability={"paths": {"healthz": "/ops/live", "readyz": "/ops/ready"}})
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools()])
    async with http_client(standalone_app(gateway)) as http:
        response = await http.get("/ops/ready")
        assert response.status_code == 503 and "has not started" in response.json()["reasons"][0]
        assert (await http.get("/ops/live")).status_code == 200
        assert (await http.get("/healthz")).status_code == 401  # no longer an operations path: governed


async def test_in_a_host_app_and_as_a_mountable_app() -> None:
    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools()])
    app = Starlette(routes=[Mount("/ops", app=gateway.operations)])
    install(app, gateway)
    async with app.router.lifespan_context(app), http_client(app) as http:
        assert (await http.get("/healthz")).status_code == 200  # answered before the key middleware
        assert (await http.get("/readyz")).json()["status"] == "ready"
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/ops/readyz", headers={"x-api-key": world.admin})).json()["status"] == "ready"
        assert (await http.get("/ops/nothing", headers={"x-api-key": world.admin})).status_code == 404


async def test_one_log_line_per_call_and_per_request_without_a_call(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    caplog.set_level(logging.INFO, logger="mcp_guard")
    async with served(world) as (_, http):
        await rest_call(http, world.spender, "calc__add", a=1, b=2)
        await rest_call(http, world.worker, "ops__wipe", target="x")
        await http.get("/mcp/tools", headers={"authorization": "Bearer mcpg_wrong"})
        await http.get("/mcp/tools", headers={"authorization": f"Bearer {world.worker}"})
    calls = [r for r in caplog.records if r.name == "mcp_guard.calls"]
    requests = [r for r in caplog.records if r.name == "mcp_guard.requests"]
    assert [r.fields["outcome"] for r in calls] == ["ok", "denied"]  # type: ignore[attr-defined]
    ok: dict[str, Any] = calls[0].fields  # type: ignore[attr-defined]
    assert ok["key"] == "spender" and ok["team"] == "blue" and ok["server"] == "calc" and ok["tool"] == "add"
    assert ok["status"] == 200 and ok["cost"] == 0.1 and ok["duration_ms"] > 0 and len(ok["request_id"]) == 32
    assert calls[1].fields["status"] == 403 and calls[1].fields["reason"] == "not_allowed"  # type: ignore[attr-defined]
    assert [(r.fields["status"], r.fields["reason"]) for r in requests] == [  # type: ignore[attr-defined]
        (401, "unauthenticated"),
        (200, None),
    ]
    for record in calls + requests:  # never a key, never the arguments
        line = JsonFormatter().format(record) + LogfmtFormatter().format(record)
        assert world.spender not in line and world.worker not in line and "mcpg_wrong" not in line
        assert '"a": 1' not in line


def test_formatters_render_the_fields() -> None:
    record = logging.LogRecord("mcp_guard.calls", logging.INFO, __file__, 1, "call %s", ("calc/add",), None)
    record.fields = {"tool": "add", "status": 200, "cost": 0.1, "user": None, "reason": "two words"}
    as_json = json.loads(JsonFormatter().format(record))
    assert as_json["message"] == "call calc/add" and as_json["tool"] == "add" and as_json["level"] == "info"
    assert as_json["time"].endswith("Z")
    line = LogfmtFormatter().format(record)
    assert 'msg="call calc/add"' in line and "status=200" in line and 'reason="two words"' in line
    assert "user=" not in line


async def test_litestar_app_answers_health_without_a_key() -> None:
    from litestar import Litestar, get
    from mcp_guard_litestar import MCPGuardPlugin

    @get("/mine")
    async def mine() -> dict[str, str]:
        return {"app": "yes"}

    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools()])
    app = Litestar(route_handlers=[mine], plugins=[MCPGuardPlugin(gateway)])
    async with app.lifespan(), http_client(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/mine")).status_code == 200  # the app's own route: not the gateway's to govern
        assert (await http.get("/mcp/tools")).status_code == 401
