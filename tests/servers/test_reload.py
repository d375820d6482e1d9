"""Hot reload: a valid file is applied under a bounded load with zero failed calls (an upstream replaced
beside the old one, a server added, a rule changed); an invalid one is refused, logged, and the running
configuration kept; SIGHUP does the same for `mcp-guard serve`."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import yaml

from mcp_guard import Gateway
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.observability.world import World, rest_call
from tests.support.processes import ServerProcess, free_port

pytestmark = pytest.mark.anyio
LOAD_SECONDS = 3.0


def write(path: Path, world: World, echo_url: str, **changes: Any) -> None:
    document = world.document(**changes)
    document["teams"]["red"] = {}
    document["servers"] = {"echo": {"transport": "http", "url": echo_url}, **changes.get("servers", {})}
    path.write_text(yaml.safe_dump(document))


async def load(http: httpx2.AsyncClient, key: str, stop: anyio.Event, results: list[tuple[str, int, bool]]) -> None:
    """Call the HTTP upstream and an in-process tool in turn until `stop`; record every answer."""
    while not stop.is_set():
        for tool, arguments in (("echo__seen", {}), ("calc__add", {"a": 1, "b": 2})):
            response = await rest_call(http, key, tool, **arguments)
            results.append((tool, response.status_code, bool(response.json().get("is_error"))))


async def test_good_and_bad_files_under_load(
    tmp_path: Path, echo: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    path = tmp_path / "gateway.yaml"
    write(path, world, echo.url)
    gateway = Gateway.from_yaml(path, inprocess=[make_tools()])
    app = standalone_app(gateway)
    admin = {"authorization": f"Bearer {world.admin}"}
    results: list[tuple[str, int, bool]] = []
    async with gateway.lifespan(), http_client(app) as http:
        old_echo = gateway.upstreams["echo"]
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(load, http, world.admin, stop, results)
            await anyio.sleep(LOAD_SECONDS / 3)
            # good: echo changes (a new upstream beside the old), a server and a rate-limit rule are added
            write(
                path, world, echo.url,
                servers={"echo": {"transport": "http", "url": echo.url, "call_timeout": 7},
                         "echo2": {"transport": "http", "url": echo.url}},
                rate_limits={"rules": [{"key": "worker", "tools": "calc/*", "limit": "1/minute"}]},
            )  # fmt: skip
            reloaded = await http.post("/mcp/admin/reload", headers=admin)
            assert reloaded.status_code == 200, reloaded.text
            assert {"servers", "rate_limits"} <= set(reloaded.json()["applied"])
            await anyio.sleep(LOAD_SECONDS / 3)
            # bad: refused, logged, the running configuration kept
            path.write_text(path.read_text().replace("call_timeout: 7", "call_timeout: -1"))
            with caplog.at_level(logging.ERROR, logger="mcp_guard.reload"):
                refused = await http.post("/mcp/admin/reload", headers=admin)
            assert refused.status_code == 400 and "call_timeout" in refused.json()["detail"]
            assert "reload refused" in caplog.text
            await anyio.sleep(LOAD_SECONDS / 3)
            stop.set()
        assert gateway.upstreams["echo"] is not old_echo and gateway.upstreams["echo"].config.call_timeout == 7
        assert gateway.catalog.resolve("echo2__seen") is not None
        assert (await rest_call(http, world.worker, "calc__add", a=1, b=1)).status_code == 200
        assert (await rest_call(http, world.worker, "calc__add", a=1, b=1)).status_code == 429  # the new rule
    assert len(results) > 40, "the load ran"
    failed = [result for result in results if result[1] != 200 or result[2]]
    assert failed == [], f"{len(failed)} of {len(results)} calls failed during the reloads: {failed[:5]}"


async def test_sighup_reloads_mcp_guard_serve(tmp_path: Path, echo: ServerProcess) -> None:
    world = World()
    path = tmp_path / "gateway.yaml"
    write(path, world, echo.url)
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port), "--log-format", "json"]
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    document = yaml.safe_load(path.read_text())
    document["servers"]["calc"] = {"transport": "inprocess", "target": "tests.servers.tools:calc"}
    path.write_text(yaml.safe_dump(document))
    gateway = ServerProcess(argv, port=port, env=env, cwd=tmp_path, startup_timeout=60)
    admin = {"authorization": f"Bearer {world.admin}"}
    async with gateway, httpx2.AsyncClient(base_url=gateway.base_url, headers=admin, timeout=10) as http:

        async def servers() -> set[str]:
            return {s["name"] for s in (await http.get("/mcp/servers")).json()["servers"]}

        assert await servers() == {"echo", "calc"}
        document["servers"]["echo2"] = {"transport": "http", "url": echo.url}
        path.write_text(yaml.safe_dump(document))
        assert gateway.pid is not None
        os.kill(gateway.pid, signal.SIGHUP)
        with anyio.fail_after(10):
            while await servers() != {"echo", "calc", "echo2"}:
                await anyio.sleep(0.05)
        path.write_text("servers: [oops")
        os.kill(gateway.pid, signal.SIGHUP)
        await anyio.sleep(0.5)
        assert gateway.running and await servers() == {"echo", "calc", "echo2"}
        assert (await http.get("/healthz")).status_code == 200
    assert "reload refused" in gateway.output and "not valid YAML" in gateway.output
