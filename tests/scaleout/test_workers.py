"""`mcp-guard serve --workers 2` for real, on the machine's Redis and PostgreSQL: calls land on both
workers, a shared rate limit is exact across them, killing the supervisor kills the workers, and a
configuration with per-process stores is refused before anything listens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard.children import live_members
from tests.support.processes import ServerProcess, free_port

from .cluster import ROOT, Deployment
from .services import POSTGRES_URL, REDIS_URL, require

READY_LINE = "mcp-guard: MCP endpoint"


def _config(deployment: Deployment) -> dict:
    config = deployment.config()
    config["confirmations"] = {"storage": deployment.redis_url + f"?prefix={deployment.name}:confirm"}
    return config


@contextmanager
def _running_workers(directory: Path) -> Iterator[tuple[Deployment, ServerProcess]]:
    """`mcp-guard serve --workers 2` on Redis and PostgreSQL, once every worker serves; stopped and its
    Redis keys and PostgreSQL schema removed afterwards."""
    require(REDIS_URL)
    require(POSTGRES_URL)
    deployment = Deployment()
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(_config(deployment)))
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port), "--workers", "2"]
    # Its own session (ServerProcess): the workers are in the supervisor's process group
    process = ServerProcess(argv, port=port, env={"PYTHONPATH": str(ROOT)}, cwd=directory, startup_timeout=90)
    process.start()
    try:
        _wait_for(lambda: READY_LINE in process.log(), 90, process)
        yield deployment, process
    finally:
        process.stop()
        deployment.cleanup()


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployment, ServerProcess]]:
    with _running_workers(tmp_path_factory.mktemp("workers")) as running:
        yield running


def _wait_for(condition, seconds: float, process: ServerProcess) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; gateway output:\n{process.log()}")
        time.sleep(0.1)


def _execute(http: httpx2.Client, process: ServerProcess, key: str, tool: str) -> httpx2.Response:
    body = {"id": "c", "type": "function", "function": {"name": tool, "arguments": '{"text": "x"}'}}
    return http.post(f"{process.base_url}/mcp/tool/execute", json=body, headers={"authorization": f"Bearer {key}"})


def _fresh_client() -> httpx2.Client:
    # A new connection per call: the kernel hands each connection to one worker
    return httpx2.Client(limits=httpx2.Limits(max_keepalive_connections=0), timeout=30.0)


def test_calls_land_on_both_workers_and_a_shared_rate_limit_is_exact(workers):
    deployment, process = workers
    key = deployment.keys["limited"]
    statuses: dict[int, int] = {}
    pids: dict[int, set[str]] = {}
    with _fresh_client() as http:
        for _ in range(130):
            response = _execute(http, process, key, "work/limited")
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            pids.setdefault(response.status_code, set()).add(response.headers["x-mcp-guard-worker"])
    # 100/minute for the whole deployment: exactly 100 admitted, by both workers together
    assert statuses == {200: 100, 429: 30}, statuses
    assert len(pids[200]) == 2, pids
    assert process.pid is not None and str(process.pid) not in pids[200]  # the supervisor serves nothing


def test_killing_the_supervisor_kills_every_worker(tmp_path):
    with _running_workers(tmp_path) as (_, process):
        supervisor = process.pid
        assert supervisor is not None
        members = [pid for pid in live_members(supervisor) if pid != supervisor]
        assert len(members) >= 2, members  # two workers (and multiprocessing's resource tracker)
        os.kill(supervisor, signal.SIGKILL)  # the group is left alone: only the death signal can end them
        _wait_for(lambda: not [pid for pid in members if _alive(pid)], 15, process)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_per_process_stores_are_refused_naming_each_setting(tmp_path: Path):
    config = {
        "servers": {"work": {"transport": "inprocess", "target": "tests.scaleout.tools:server"}},
        "rate_limits": {"storage": "memory://", "rules": [{"limit": "10/minute", "tools": "work/*"}]},
        "teams": {"t": {"budget": {"limit": 1.0, "period": "1d"}}},
        "audit": {"sink": "memory://"},
    }
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(free_port()), "--workers", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ})
    assert done.returncode == 2, done.stderr
    for setting in ("rate_limits.storage", "budgets.storage", "confirmations.storage", "audit.sink"):
        assert setting in done.stderr, done.stderr


def _sdk_client(process: ServerProcess, key: str, seen: list[tuple[int, str]]) -> Client:
    async def remember(response: httpx2.Response) -> None:
        seen.append((response.status_code, response.headers.get("x-mcp-guard-worker", "")))

    # No keep-alive: every request opens a connection, and the kernel may give it to either worker
    http = httpx2.AsyncClient(
        headers={"authorization": f"Bearer {key}"},
        limits=httpx2.Limits(max_keepalive_connections=0),
        event_hooks={"response": [remember]},
        timeout=30.0,
    )
    return Client(streamable_http_client(process.url, http_client=http), mode="legacy")


@pytest.mark.anyio
async def test_a_handshake_era_session_keeps_working_on_both_workers(workers):
    deployment, process = workers
    seen: list[tuple[int, str]] = []
    with anyio.fail_after(60):
        async with _sdk_client(process, deployment.keys["admin"], seen) as client:
            for index in range(40):
                result = await client.call_tool("work__echo", {"text": f"call {index}"})
                assert not result.is_error, result
    assert {status for status, _ in seen} <= {200, 202}, seen
    assert len({pid for _, pid in seen}) == 2, seen  # the session was served by both workers


@pytest.mark.anyio
async def test_a_session_id_is_refused_to_another_key_on_every_worker(workers):
    deployment, process = workers
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _INITIALIZE}
    headers = {"authorization": f"Bearer {deployment.keys['admin']}", "accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0), timeout=30.0) as http:
        opened = await http.post(process.url, json=body, headers=headers)
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        other = {**headers, "authorization": f"Bearer {deployment.keys['auditor']}", "mcp-session-id": session}
        other["mcp-protocol-version"] = "2025-06-18"
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        answered = {}
        for _ in range(12):  # fresh connections: both workers answer some
            response = await http.post(process.url, json=ping, headers=other)
            answered[response.headers["x-mcp-guard-worker"]] = response.status_code
        assert set(answered.values()) == {404} and len(answered) == 2, answered
        forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
        response = await http.post(process.url, json=ping, headers={**other, "mcp-session-id": forged})
        assert response.status_code == 404, response.text


_INITIALIZE = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}


@pytest.mark.anyio
async def test_metrics_add_up_and_sessions_outlive_a_reload(tmp_path):
    """`/metrics` of either worker counts the calls of both; SIGHUP replaces the workers (each re-reads the
    file) and a handshake-era session opened before goes on working on the new ones."""
    with _running_workers(tmp_path) as (deployment, process), anyio.fail_after(90):
        seen: list[tuple[int, str]] = []
        async with _sdk_client(process, deployment.keys["admin"], seen) as client:
            for _ in range(10):
                await client.call_tool("work__echo", {"text": "x"})
            async with httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0)) as http:
                for _ in range(6):
                    metrics = (await http.get(f"{process.base_url}/metrics")).text
                    assert 'server="work",tool="echo"} 10.0' in metrics, metrics
            assert process.pid is not None
            before = {str(pid) for pid in live_members(process.pid)}  # the workers (and the supervisor)
            assert {pid for _, pid in seen} <= before
            os.kill(process.pid, signal.SIGHUP)
            await _until_only_new_workers_answer(process, before)
            seen.clear()
            for _ in range(10):
                result = await client.call_tool("work__echo", {"text": "after the reload"})
                assert not result.is_error, result
        assert seen and not {pid for _, pid in seen} & before, (seen, before)  # served by the new workers


async def _until_only_new_workers_answer(process: ServerProcess, old: set[str]) -> None:
    """SIGHUP replaces the workers one at a time: wait until 16 fresh connections in a row meet new ones."""
    in_a_row = 0
    async with httpx2.AsyncClient(limits=httpx2.Limits(max_keepalive_connections=0)) as http:
        while in_a_row < 16:
            await anyio.sleep(0.1)
            try:
                response = await http.get(f"{process.base_url}/healthz")
            except httpx2.TransportError:  # a worker being replaced dropped the connection
                in_a_row = 0
                continue
            in_a_row = 0 if response.headers["x-mcp-guard-worker"] in old else in_a_row + 1
