"""Progress and cancellation of long tool calls through the gateway, in both protocol eras, on a real socket
(streamed answers and a client that closes its request need a real server): the progress a client hears
is what it hears directly; a cancelled call stops its upstream, is refunded and is audited as cancelled."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import ServerConfig, parse_config
from mcp_guard.server import standalone_app
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import everything_stdio_params, notes_server, notes_stdio_params

from .upstream_fixtures import gateway_for, stdio_config, url_config, wait_until

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]  # auto: 2026-07-28 with the gateway; legacy: the initialize handshake
STEPS = 6


@asynccontextmanager
async def client_on(url: str, mode: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def heard_progress(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, list[tuple]]:
    """The call's text and the progress notifications its client heard, in order."""
    heard: list[tuple] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, total, message))

    with anyio.fail_after(30):
        result = await client.call_tool(tool, arguments, progress_callback=on_progress)
    # a handshake-era session hears progress on its own stream, which may trail the answer a little
    await wait_until(lambda: len(heard) >= STEPS, 5, "the progress notifications")
    return result.content[0].text, heard


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_of_the_example_server_arrives_as_directly(mode):
    arguments = {"steps": STEPS, "interval": 0.02}
    async with notes_server("http") as server:
        upstreams = (url_config("notes", server.url), stdio_config("copy", notes_stdio_params(), protocol="legacy"))
        async with gateway_for(*upstreams) as gateway, on_a_socket(gateway.router) as base:
            async with client_on(server.url, mode) as direct, client_on(f"{base}/", mode) as client:
                expected = await heard_progress(direct, "count_slowly", arguments)
                assert len(expected[1]) == STEPS
                for name in ("notes", "copy"):  # a 2026-07-28 upstream, then a handshake-era one
                    assert await heard_progress(client, f"{name}__count_slowly", arguments) == expected


@pytest.mark.node
@pytest.mark.parametrize("mode", ERAS)
async def test_progress_of_server_everything_arrives_as_directly(mode):
    arguments = {"duration": 0.3, "steps": STEPS}
    params = everything_stdio_params()
    async with Client(params) as direct, gateway_for(stdio_config("everything", params)) as gateway:
        async with on_a_socket(gateway.router) as base, client_on(f"{base}/", mode) as client:
            text, heard = await heard_progress(client, "everything__trigger-long-running-operation", arguments)
            expected_text, expected = await heard_progress(direct, "trigger-long-running-operation", arguments)
            assert (text, heard) == (expected_text, expected)
            assert len(heard) == STEPS


async def test_a_call_without_a_progress_token_is_answered_with_one_json_body():
    async with notes_server("http") as server, gateway_for(url_config("notes", server.url)) as gateway:
        async with on_a_socket(gateway.router) as base, client_on(f"{base}/", "auto") as client:
            result = await client.call_tool("notes__count_slowly", {"steps": 2, "interval": 0.01})
            assert result.content[0].text == "counted to 2"


def governed_config(upstream: ServerConfig, key: str, admin: str) -> dict[str, Any]:
    """One key in a team with a budget, every call priced; an admin key to read the audit log and spend."""
    return {
        "servers": [upstream.model_dump(exclude_unset=True)],
        "roles": {"admin": {"tools": ["*"], "admin": True}, "caller": {"tools": ["*"]}},
        "teams": {"t": {"budget": {"limit": 10, "period": "1d"}}},
        "keys": [
            {"name": "caller", "hash": hash_key(key), "roles": ["caller"], "team": "t"},
            {"name": "root", "hash": hash_key(admin), "roles": ["admin"]},
        ],
        "auth": {"store": "memory://"},
        "pricing": {"default": 1.0},
        "audit": {"sink": "memory://", "synchronous": True},
    }


async def remaining_and_outcomes(base: str, admin: str) -> tuple[float, list[tuple[str, str]]]:
    """What remains of the team's budget (spent and reserved both count) and (tool, outcome) of its calls."""
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {admin}"}) as http:
        costs = (await http.get(f"{base}/mcp/analytics/costs", params={"team_id": "t"})).json()
        records = (await http.get(f"{base}/mcp/audit", params={"key": "caller"})).json()["records"]
    return costs["remaining"], [(r["tool"], r["outcome"]) for r in records]


async def slow_calls(client: Client) -> dict[str, int]:
    return (await client.call_tool("notes__slow_calls", {})).structured_content


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("upstream_era", ["2026-07-28", "handshake"])
async def test_a_cancelled_call_stops_its_upstream_is_refunded_and_audited(mode, upstream_era):
    key, admin = generate_key(), generate_key()
    async with notes_server("http") as server:
        if upstream_era == "handshake":
            upstream = stdio_config("notes", notes_stdio_params(), protocol="legacy")
        else:
            upstream = url_config("notes", server.url)
        gateway = Gateway(parse_config(governed_config(upstream, key, admin)))
        async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
            async with client_on(f"{base}/mcp", mode, {"authorization": f"Bearer {key}"}) as client:
                assert await slow_calls(client) == {"finished": 0, "cancelled": 0}
                with anyio.move_on_after(1.0):  # the client gives up on a call that would take a minute
                    await client.call_tool("notes__count_slowly", {"steps": 600, "interval": 0.1})
                with anyio.fail_after(10):  # the upstream hears of it and stops counting
                    while (await slow_calls(client))["cancelled"] != 1:
                        await anyio.sleep(0.05)
                assert (await slow_calls(client))["finished"] == 0
            with anyio.fail_after(10):  # the audit record is written as the cancellation unwinds
                while not any(tool == "count_slowly" for tool, _ in (await remaining_and_outcomes(base, admin))[1]):
                    await anyio.sleep(0.05)
            remaining, calls = await remaining_and_outcomes(base, admin)
            assert [outcome for tool, outcome in calls if tool == "count_slowly"] == ["cancelled"]
            answered = [outcome for tool, outcome in calls if tool == "slow_calls"]
            assert set(answered) == {"ok"}
            assert remaining == 10 - len(answered)  # the cancelled call was reserved, then refunded


Heard = dict[str, list[tuple[str, str | None, Any]]]


def logging_client(url: str, http: httpx2.AsyncClient, heard: Heard, who: str, **options: Any) -> Client:
    """An SDK client on `url` that notes each log message it hears under `who`, as (level, logger, data)."""

    async def on_log(params: Any) -> None:
        heard.setdefault(who, []).append((params.level, params.logger, params.data))

    return Client(streamable_http_client(url, http_client=http), logging_callback=on_log, **options)


async def test_log_messages_reach_the_sessions_that_asked_and_may_see_the_server():
    """A handshake-era upstream's log messages: to each session at the level it set, with the server named,
    and never to a session whose key cannot see that server."""
    notes_key, other_key, admin = generate_key(), generate_key(), generate_key()
    config = governed_config(stdio_config("notes", notes_stdio_params(), protocol="legacy"), notes_key, admin)
    config["roles"]["elsewhere"] = {"tools": ["other/*"]}
    config["keys"].append({"name": "other", "hash": hash_key(other_key), "roles": ["elsewhere"]})
    gateway = Gateway(parse_config(config))
    heard: Heard = {"notes": [], "other": []}
    async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {notes_key}"}) as notes_http,
            httpx2.AsyncClient(headers={"authorization": f"Bearer {other_key}"}) as other_http,
            logging_client(f"{base}/mcp", notes_http, heard, "notes", mode="legacy") as client,
            logging_client(f"{base}/mcp", other_http, heard, "other", mode="legacy") as other,
        ):
            await client.set_logging_level("warning")
            await other.set_logging_level("debug")
            with anyio.fail_after(10):
                await client.call_tool("notes__log", {"level": "info", "text": "below the level"})
                await client.call_tool("notes__log", {"level": "error", "text": "disk full"})
            await wait_until(lambda: bool(heard["notes"]), 5, "the log message")
            await client.call_tool("notes__slow_calls", {})  # a round trip more: a stray message would be in
            assert heard == {"notes": [("error", "notes/notes", "disk full")], "other": []}


@pytest.mark.parametrize("upstream_era", ["2026-07-28", "handshake"])
async def test_a_2026_client_hears_the_log_messages_of_its_call_at_the_level_it_asked(upstream_era):
    """2026-07-28 asks for log messages per request (`_meta` logLevel): the messages of the called server at
    that level or above arrive on the call's own stream, before its result, as they do directly; a request
    that names no level hears none (and a 2026-07-28 upstream is asked for them only when one does)."""
    heard: Heard = {"direct": [], "gateway": [], "silent": []}

    async def log_twice(client: Client) -> None:
        with anyio.fail_after(30):
            await client.call_tool("notes__log" if client is not direct else "log", {"level": "info", "text": "quiet"})
            await client.call_tool("notes__log" if client is not direct else "log", {"level": "error", "text": "loud"})

    async with notes_server("http") as server:
        if upstream_era == "handshake":
            upstream = stdio_config("notes", notes_stdio_params(), protocol="legacy")
        else:
            upstream = url_config("notes", server.url)
        async with gateway_for(upstream) as gateway, on_a_socket(gateway.router) as base:
            async with (
                httpx2.AsyncClient(timeout=30) as http,
                logging_client(server.url, http, heard, "direct", log_level="warning") as direct,
                logging_client(f"{base}/", http, heard, "gateway", log_level="warning") as through,
                logging_client(f"{base}/", http, heard, "silent") as quiet,
            ):
                await log_twice(direct)
                await log_twice(through)  # heard before each result: no waiting
                await log_twice(quiet)
    assert heard["direct"] == [("error", "notes", "loud")]
    assert heard["gateway"] == [("error", "notes/notes", "loud")]
    assert heard["silent"] == []
