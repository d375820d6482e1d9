"""Budget alerts reach a webhook receiver on loopback: one signed POST per threshold, even with two
gateways charging the same budgets (the claim is a ledger charge), retried after a failure; a log line
once per threshold. Usage reports as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_guard import Gateway
from mcp_guard.budget.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.integration.upstream_fixtures import wait_until
from tests.support.processes import free_port

from .world import World, rest_call

pytestmark = pytest.mark.anyio
SECRET = "hook-secret"


class Receiver:
    """A webhook endpoint that answers 503 to its first POST, 200 after; keeps what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        if self.refused == 0:
            self.refused += 1
            return Response(status_code=503)
        self.accepted.append((dict(request.headers), body))
        return Response(status_code=204)


@asynccontextmanager
async def receiving() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        await wait_until(lambda: server.started, 10, "the webhook receiver")
        try:
            yield receiver, f"http://127.0.0.1:{port}/hook"
        finally:
            server.should_exit = True


def gateway(world: World, hook: str, ledger: str) -> Gateway:
    document = world.document(
        budgets={
            "storage": ledger,
            "alerts": {"thresholds": [50, 80, 100], "webhook": hook, "secret": SECRET, "check_interval": 0.05},
        },
        teams={"blue": {"budget": {"limit": 1.0, "period": "1d"}}, "red": {}},
    )
    return Gateway(parse_config(document), inprocess=[make_tools()])


async def test_one_signed_alert_per_threshold(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    caplog.set_level(logging.WARNING, logger="mcp_guard.budget.alerts")
    ledger = f"sqlite:///{tmp_path}/budgets.db"  # shared by both gateways, as by two processes on a host
    async with receiving() as (receiver, hook):
        first, second = gateway(world, hook, ledger), gateway(world, hook, ledger)
        async with first.lifespan(), second.lifespan():
            async with http_client(standalone_app(first)) as one, http_client(standalone_app(second)) as two:
                for index in range(10):  # $0.10 a call against $1.00: 50 %, 80 %, 100 % are crossed
                    response = await rest_call(one if index % 2 else two, world.spender, "calc__add", a=1, b=2)
                    assert response.status_code == 200, response.text
                    await anyio.sleep(0.06)  # let a check run between calls, on both gateways
                assert (await rest_call(one, world.spender, "calc__add", a=1, b=2)).status_code == 402
                await wait_until(lambda: len(receiver.accepted) >= 3, 15, "three alerts")
                await anyio.sleep(0.3)  # and no fourth
                report = await one.get(
                    "/mcp/analytics/usage?group_by=team,tool&period=day", headers={"x-api-key": world.admin}
                )
                as_csv = await one.get(
                    "/mcp/analytics/usage?group_by=key&format=csv", headers={"x-api-key": world.admin}
                )
    assert receiver.refused == 1 and len(receiver.accepted) == 3
    events: list[dict[str, Any]] = []
    for headers, body in receiver.accepted:
        assert headers[SIGNATURE_HEADER] == signature(SECRET, headers[TIMESTAMP_HEADER], body)
        events.append(json.loads(body))
    assert sorted(event["threshold"] for event in events) == [50, 80, 100]
    assert {(event["tier"], event["tier_id"]) for event in events} == {("team", "blue")}
    assert all(event["percent"] >= event["threshold"] for event in events)
    lines = [record for record in caplog.records if record.getMessage().startswith("Budget alert: team")]
    assert len(lines) == 3

    assert report.status_code == 200
    rows = report.json()["rows"]
    assert {"team": "blue", "tool": "calc/add", "calls": 5, "denied": 1, "cost": 0.5} in rows  # this gateway's audit
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert table[0] == {"key": "spender", "calls": "5", "denied": "1", "cost": "0.5"}


async def test_reports_refuse_bad_parameters() -> None:
    world = World()
    async with receiving() as (_receiver, hook):
        gw = gateway(world, hook, "memory://")
        async with gw.lifespan(), http_client(standalone_app(gw)) as http:
            for query, words in (("group_by=colour", "group_by"), ("period=year", "period"), ("format=xml", "format")):
                response = await http.get(f"/mcp/analytics/usage?{query}", headers={"x-api-key": world.admin})
                assert response.status_code == 400 and words in response.json()["detail"]
            forbidden = await http.get("/mcp/analytics/usage", headers={"x-api-key": world.worker})
            assert forbidden.status_code == 403
