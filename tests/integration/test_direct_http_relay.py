"""Calls that may relay progress or questions to their client, to a 2026-07-28 HTTP upstream (the notes
example server): they take the direct path (`upstreams/direct_http.py`, `link.py`), and what the client
sees (progress and its order, results, the upstream's questions and their answers, refusals, errors,
cancellation) is what it sees when the same gateway makes the call through the SDK client, as it did before.
Clients of both eras, on a real socket."""

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
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import notes_server

from .test_client_requests import Answers, text_of
from .upstream_fixtures import gateway_for, url_config, wait_until

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]  # the client's: 2026-07-28, or the handshake era
PATHS = ["direct", "sdk"]
STEPS = 5


def on_path(gateway: Gateway, path: str) -> list[str]:
    """Send the notes upstream's relaying calls on `path` (`sdk`: the SDK client, as before); the names of
    the tools called through the SDK client from now on."""
    link = gateway.upstreams["notes"]._link  # type: ignore[attr-defined]
    assert link is not None and link.relaying is not None
    if path == "sdk":
        link.relaying = None
    through_sdk: list[str] = []
    call_tool = link.client.call_tool

    async def counted(name: str, *args: Any, **kwargs: Any) -> Any:
        through_sdk.append(name)
        return await call_tool(name, *args, **kwargs)

    link.client.call_tool = counted
    return through_sdk


@asynccontextmanager
async def through(path: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A gateway over the notes server on HTTP (2026-07-28), its relaying calls on `path`."""
    async with notes_server("http") as server, gateway_for(url_config("notes", server.url)) as gateway:
        async with on_a_socket(gateway.router) as base:
            yield f"{base}/", on_path(gateway, path)


@asynccontextmanager
async def client_on(url: str, mode: str, **options: Any) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, **options) as client:
            yield client


async def call_hearing(client: Client, tool: str, arguments: dict[str, Any], steps: int = 0) -> tuple[Any, ...]:
    """(is_error, text, progress heard in order) of a call made with a progress token."""
    heard: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, total, message))

    with anyio.fail_after(30):
        result = await client.call_tool(tool, arguments, progress_callback=on_progress)
    # a handshake-era session hears progress on its own stream, which may trail the answer a little
    await wait_until(lambda: len(heard) >= steps, 5, "the progress notifications")
    return result.is_error, text_of(result), heard


async def seen_by_clients(base: str, mode: str) -> dict[str, Any]:
    """What clients see of progress, questions (answered, declined, unanswerable) and failures."""
    seen: dict[str, Any] = {}
    answers, declining = Answers(), Answers("decline")
    async with client_on(base, mode, **answers.options()) as client:
        steps = {"steps": STEPS, "interval": 0.02}
        seen["progress"] = await call_hearing(client, "notes__count_slowly", steps, STEPS)
        seen["confirm"] = await call_hearing(client, "notes__confirm", {"question": "Delete it?"})
        seen["sample"] = await call_hearing(client, "notes__ask_model", {"prompt": "2+2?"})
        seen["invalid"] = await call_hearing(client, "notes__add", {"a": "x", "b": 2})
        seen["asked"] = list(answers.asked)
        with anyio.fail_after(30):  # no progress token: questions alone send the call on the relaying path
            seen["plain confirm"] = text_of(await client.call_tool("notes__confirm", {"question": "Sure?"}))
    async with client_on(base, mode, **declining.options()) as client:
        seen["declined"] = await call_hearing(client, "notes__confirm", {"question": "Delete it?"})
    async with client_on(base, mode) as incapable:  # a progress token, but neither capability
        seen["refused"] = await call_hearing(incapable, "notes__confirm", {"question": "Delete it?"})
    return seen


@pytest.mark.parametrize("mode", ERAS)
async def test_relaying_calls_take_the_direct_path_and_the_client_sees_what_the_sdk_path_gives(mode: str):
    seen, through_sdk = {}, {}
    for path in PATHS:
        async with through(path) as (base, sdk_calls):
            seen[path] = await seen_by_clients(base, mode)
            through_sdk[path] = sdk_calls
    assert seen["direct"] == seen["sdk"]
    assert through_sdk["direct"] == []  # the arguments of `add` are refused by the gateway itself
    assert through_sdk["sdk"] == ["count_slowly", "confirm", "ask_model", "confirm", "confirm", "confirm"]
    direct = seen["direct"]
    assert direct["progress"] == (False, "counted to 5", [(s, 5.0, f"step {s} of 5") for s in range(1, 6)])
    assert direct["confirm"][:2] == (False, "accept ok=True") and direct["sample"][:2] == (False, "client-model: four")
    assert direct["declined"][:2] == (False, "decline") and direct["invalid"][0]
    assert direct["refused"][0] and "did not declare the elicitation capability" in direct["refused"][1]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", ERAS)
async def test_a_cancelled_relaying_call_stops_its_upstream(mode: str, path: str):
    """The client gives up on a call that would take a minute and reports progress: the upstream hears of it
    (on this wire, its request's connection closes; a handshake-era client sends `notifications/cancelled`)
    and stops counting, on either path. Both clients declare elicitation and sampling, so a 2026-07-28
    client's call is parked (`router/client_requests.py`): it runs in the gateway's task group so that a retry
    could answer its questions, and is stopped when the request that would have carried the first question
    goes away."""
    options = Answers().options()
    async with through(path) as (base, sdk_calls), client_on(base, mode, **options) as client:
        heard: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            heard.append(progress)

        minute = {"steps": 600, "interval": 0.1}
        with anyio.move_on_after(1.0):
            await client.call_tool("notes__count_slowly", minute, progress_callback=on_progress)
        assert heard[:3] == [1.0, 2.0, 3.0]
        with anyio.fail_after(10):
            while (tally := (await client.call_tool("notes__slow_calls", {})).structured_content)["cancelled"] != 1:
                await anyio.sleep(0.05)
        assert tally == {"finished": 0, "cancelled": 1}
        assert (sdk_calls == []) == (path == "direct")


async def test_a_call_with_neither_progress_nor_questions_stays_on_the_plain_direct_path():
    async with through("direct") as (base, sdk_calls), client_on(base, "auto") as client:
        result = await client.call_tool("notes__count_slowly", {"steps": 2, "interval": 0.01})
        assert text_of(result) == "counted to 2" and sdk_calls == []
        answer = types.TextContent(type="text", text="counted to 2")
        assert result.content == [answer]


@pytest.mark.parametrize("path", PATHS)
async def test_a_2026_client_that_asks_for_log_messages_hears_them_on_either_path(path: str):
    """A 2026-07-28 client's log level travels to the upstream on the direct path too, and the messages come
    back on the call's stream, as through the SDK client (`router/logging_relay.py` sends them on)."""
    heard: list[tuple[str, str | None, Any]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        heard.append((params.level, params.logger, params.data))

    async with through(path) as (base, sdk_calls):
        async with client_on(base, "auto", logging_callback=on_log, log_level="warning") as client:
            with anyio.fail_after(30):
                await client.call_tool("notes__log", {"level": "info", "text": "quiet"})
                await client.call_tool("notes__log", {"level": "error", "text": "loud"})
    assert heard == [("error", "notes/notes", "loud")]
    assert sdk_calls == ([] if path == "direct" else ["log", "log"])
