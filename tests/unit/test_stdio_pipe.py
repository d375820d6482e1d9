"""`StdioPipe.answers`: which lines of a stdio child's stdout answer the direct path's calls (the rest go to
the SDK session unchanged), and `close` failing the calls still waiting."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp import MCPError
from mcp_types import CONNECTION_CLOSED

from mcp_guard.upstreams.direct_stdio import StdioPipe

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the pipe's waiters are asyncio futures, as the stdio transport is asyncio's


def waiting(pipe: StdioPipe, request_id: str) -> asyncio.Future[dict]:
    future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    pipe._waiting[request_id] = future
    return future


async def test_an_answer_to_a_waiting_call_resolves_it_and_nothing_else() -> None:
    pipe = StdioPipe()
    future = waiting(pipe, "mcpg-1")
    answer = {"jsonrpc": "2.0", "id": "mcpg-1", "result": {"content": []}}
    assert pipe.answers(json.dumps(answer))
    assert future.result() == answer
    assert pipe._waiting == {}
    assert not pipe.answers(json.dumps(answer))  # answered twice: the second goes to the session (it drops it)


@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc": "2.0", "id": 1, "result": {}}',  # the session's own (integer) ids
        '{"jsonrpc": "2.0", "id": "mcpg-2", "result": {}}',  # our mark, nobody waiting for it
        '{"jsonrpc": "2.0", "id": "mcpg-1", "method": "ping"}',  # a request from the server that reuses the id
        '{"id": "mcpg-1", "result": ',  # our mark, not JSON
        '["mcpg-1"]',  # JSON, not an object
        '{"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "\\"mcpg-1\\""}}',
    ],
)
async def test_every_other_line_is_left_to_the_session(line: str) -> None:
    pipe = StdioPipe()
    future = waiting(pipe, "mcpg-1")
    assert not pipe.answers(line)
    assert not future.done() and "mcpg-1" in pipe._waiting


async def test_nothing_is_parsed_while_no_call_waits() -> None:
    assert not StdioPipe().answers('{"jsonrpc": "2.0", "id": "mcpg-1", "result": {}}')


async def test_closing_fails_every_waiting_call_as_a_closed_connection() -> None:
    pipe = StdioPipe()
    futures = [waiting(pipe, f"mcpg-{n}") for n in (1, 2)]
    pipe.close()
    for future in futures:
        with pytest.raises(MCPError) as caught:
            future.result()
        assert caught.value.code == CONNECTION_CLOSED
    with pytest.raises(MCPError, match="Connection closed"):  # and a call after the end is not written
        await pipe.exchange("mcpg-3", b"{}\n", 1.0)
