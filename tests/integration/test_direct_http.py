"""Tool calls to 2026-07-28 HTTP upstreams over the gateway's direct path (`upstreams/direct_http.py`):
the same answers as the SDK client, and the same errors when the upstream misbehaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client.session import _CallToolResultAdapter
from mcp_types import (
    CONNECTION_CLOSED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    REQUEST_TIMEOUT,
    InputRequiredResult,
    ListRootsResult,
)

from mcp_guard.config import ServerConfig
from mcp_guard.upstreams.direct_http import DirectHttpCaller
from tests.support.servers import notes_server

from .gateway_fixtures import mcp_client
from .upstream_fixtures import gateway_for, url_config

pytestmark = pytest.mark.anyio

RESULT = {"content": [{"type": "text", "text": "hi"}], "isError": False}


async def test_a_modern_http_upstream_is_called_directly_with_the_sdks_results() -> None:
    async with notes_server("http") as server:
        async with Client(server.url) as direct:
            expected = [await direct.call_tool(t, a) for t, a in (("echo", {"text": "é"}), ("add", {"a": 1, "b": 2}))]
        async with gateway_for(url_config("notes", server.url)) as gateway, mcp_client(gateway.router) as client:
            assert gateway.upstreams["notes"]._link.direct is not None  # type: ignore[attr-defined]
            got = [
                await client.call_tool(f"notes__{t}", a)
                for t, a in (("echo", {"text": "é"}), ("add", {"a": 1, "b": 2}))
            ]
            invalid = await client.call_tool("notes__add", {"a": "x", "b": 2})

    def dump(result: Any) -> Any:
        return result.model_dump(by_alias=True, exclude_none=True, exclude={"meta"})

    assert [dump(r) for r in got] == [dump(r) for r in expected]
    assert invalid.is_error


# -- against a scripted upstream ---------------------------------------------------------------------


class StubSession:
    """What the direct path uses of the SDK's `ClientSession`."""

    _call_tool_adapter = _CallToolResultAdapter
    _negotiated_version = "2026-07-28"

    def __init__(self) -> None:
        self.validated: list[str] = []

    def _stamp(self, data: dict[str, Any], options: dict[str, Any]) -> None:
        data["params"]["_meta"] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
        options["headers"] = {"mcp-method": data["method"], "mcp-name": data["params"]["name"]}

    async def validate_tool_result(self, name: str, result: Any) -> None:
        self.validated.append(name)


CUT = b"<cut>"  # a reply starting with this is sent (without it), then the connection is closed
SLOW = b"<slow>"  # a reply starting with this is sent in pieces, split here, one event-loop turn apart
Reply = Callable[[dict[str, Any], int], bytes | None]  # (request, index on its connection) -> raw reply


@asynccontextmanager
async def scripted(reply: Reply) -> AsyncIterator[tuple[DirectHttpCaller, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handlers: list[tuple[asyncio.Task[Any] | None, asyncio.StreamWriter]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append((asyncio.current_task(), writer))
        index = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(line.split(b":")[1] for line in head.split(b"\r\n") if line.startswith(b"content-length"))
                )
                message = json.loads(await reader.readexactly(length))
                seen.append(message)
                raw = reply(message, index)
                index += 1
                if raw is None:
                    break
                for piece in raw.removeprefix(CUT).split(SLOW):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.001 if raw.startswith(SLOW) else 0)
                if raw.startswith(CUT):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = ServerConfig(name="s", transport="http", url=f"http://127.0.0.1:{port}/mcp", call_timeout=1.0)
    caller = DirectHttpCaller(config, StubSession(), StubSession()._stamp)  # type: ignore[arg-type]
    try:
        yield caller, seen
    finally:
        caller.close()
        server.close()
        for task, writer in handlers:
            writer.close()
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*(t for t, _w in handlers if t is not None), return_exceptions=True)
        await asyncio.sleep(0)  # let the closed transports finish


def http(body: bytes, *, status: int = 200, content_type: str = "application/json", chunked: bool = False) -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
    if chunked:
        return (head + "transfer-encoding: chunked\r\n\r\n").encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return (head + f"content-length: {len(body)}\r\n\r\n").encode() + body


def ok(message: dict[str, Any], _index: int) -> bytes:
    return http(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": RESULT}).encode())


async def test_calls_reuse_one_keep_alive_connection() -> None:
    async with scripted(ok) as (caller, seen):
        for _ in range(3):
            assert (await caller.call("echo", {"text": "hi"})).content[0].text == "hi"  # type: ignore[union-attr]
    assert [m["params"]["name"] for m in seen] == ["echo"] * 3
    assert seen[0]["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    def close_after_one(message: dict[str, Any], index: int) -> bytes | None:
        return ok(message, index) if index == 0 else None

    async with scripted(close_after_one) as (caller, seen):
        await caller.call("echo", {})
        await asyncio.sleep(0.05)
        assert not (await caller.call("echo", {})).is_error
    assert len(seen) == 3  # the second call reached a closed connection first, then a fresh one


async def test_event_stream_and_chunked_replies() -> None:
    def stream(message: dict[str, Any], _index: int) -> bytes:
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}})
        reply = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": RESULT})
        events = f"event: message\r\ndata: {note}\r\n\r\nevent: message\r\ndata: {reply}\r\n\r\n".encode()
        return http(events, content_type="text/event-stream", chunked=True)

    async with scripted(stream) as (caller, _seen):
        assert (await caller.call("echo", {})).content[0].text == "hi"  # type: ignore[union-attr]


async def test_a_body_delimited_by_the_connection_closing() -> None:
    def until_close(message: dict[str, Any], _index: int) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": RESULT}).encode()
        return CUT + b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + body

    async with scripted(until_close) as (caller, seen):
        assert (await caller.call("echo", {})).content[0].text == "hi"  # type: ignore[union-attr]
        assert (await caller.call("echo", {})).content[0].text == "hi"  # type: ignore[union-attr]
    assert len(seen) == 2  # that connection could not be reused: the second call opened another


async def test_a_reply_arriving_in_pieces() -> None:
    def in_pieces(message: dict[str, Any], _index: int) -> bytes:
        reply = ok(message, 0)
        return SLOW + b"".join(reply[start : start + 7] + SLOW for start in range(0, len(reply), 7))

    async with scripted(in_pieces) as (caller, _seen):
        assert (await caller.call("echo", {})).content[0].text == "hi"  # type: ignore[union-attr]


def rpc_error(message: dict[str, Any], _index: int) -> bytes:
    error = {"code": INVALID_PARAMS, "message": "bad"}
    return http(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}).encode(), status=400)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (rpc_error, INVALID_PARAMS),
        (lambda m, i: http(b"oops", status=500, content_type="text/plain"), INTERNAL_ERROR),
        (lambda m, i: CUT + b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{", CONNECTION_CLOSED),  # cut short
        (lambda m, i: b"SSH-2.0-OpenSSH_9.6\r\n\r\n", INTERNAL_ERROR),  # not HTTP at all
        (lambda m, i: http(b"{not json"), INTERNAL_ERROR),
    ],
)  # fmt: skip
async def test_failures_are_the_sdks_errors(reply: Reply, code: int) -> None:
    async with scripted(reply) as (caller, _seen):
        with pytest.raises(MCPError) as raised:
            await caller.call("echo", {})
    assert raised.value.code == code


async def test_an_errors_data_reaches_the_caller() -> None:
    """As the SDK client keeps it: a URL elicitation's `elicitations` travel in it (`failures.py`)."""

    def with_data(message: dict[str, Any], _index: int) -> bytes:
        error = {"code": -32042, "message": "open this", "data": {"elicitations": [{"url": "https://x.test/"}]}}
        return http(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": error}).encode())

    async with scripted(with_data) as (caller, _seen):
        with pytest.raises(MCPError) as raised:
            await caller.call("echo", {})
    assert (raised.value.code, raised.value.error.data) == (-32042, {"elicitations": [{"url": "https://x.test/"}]})


async def test_a_hung_upstream_times_out() -> None:
    def hang(message: dict[str, Any], index: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\n"  # headers never finish

    async with scripted(hang) as (caller, _seen):
        with pytest.raises(MCPError) as raised:
            await caller.call("echo", {})
    assert raised.value.code == REQUEST_TIMEOUT


async def test_nothing_listening_is_a_closed_connection() -> None:
    caller = DirectHttpCaller(
        ServerConfig(name="s", transport="http", url="http://127.0.0.1:9/mcp"),
        StubSession(),
        StubSession()._stamp,  # type: ignore[arg-type]
    )
    with pytest.raises(MCPError) as raised:
        await caller.call("echo", {})
    assert raised.value.code == CONNECTION_CLOSED


# -- event streams read as they arrive (calls whose client hears progress) ----------------------------


def sse(*messages: dict[str, Any], end: bool = True) -> bytes:
    """A chunked event-stream reply, one chunk per event (`end`: the stream then ends)."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    events = [f"event: message\r\ndata: {json.dumps(m)}\r\n\r\n".encode() for m in messages]
    return head + b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + (b"0\r\n\r\n" if end else b"")


def progress(token: Any, step: int, **extra: Any) -> dict[str, Any]:
    params = {"progressToken": token, "progress": step, **extra}
    return {"jsonrpc": "2.0", "method": "notifications/progress", "params": params}


async def heard_by(caller: DirectHttpCaller, **kwargs: Any) -> tuple[Any, list[tuple[Any, ...]]]:
    heard: list[tuple[Any, ...]] = []

    async def sink(step: float, total: float | None, message: str | None) -> None:
        heard.append((step, total, message))

    return await caller.call_relaying("echo", {}, sink, **kwargs), heard


async def test_progress_reaches_the_sink_in_order_before_the_result() -> None:
    """Only this call's notifications (its token is its request id, as the SDK's), each as the SDK reads it;
    the stream arriving in small pieces."""

    def stream(message: dict[str, Any], _index: int) -> bytes:
        token = message["params"]["_meta"]["progressToken"]
        reply = sse(
            progress(token, 1, total=3, message="one"),
            progress(token + 1, 9),  # another request's
            progress(str(token), 2),  # the SDK matches "7" to 7 as well
            progress(token, True),  # not a number
            progress(token, 3.5, total=3, message=7),
            {"jsonrpc": "2.0", "id": message["id"], "result": RESULT},
        )
        return SLOW + b"".join(reply[start : start + 40] + SLOW for start in range(0, len(reply), 40))

    async with scripted(stream) as (caller, seen):
        result, heard = await heard_by(caller)
    assert result.content[0].text == "hi"  # type: ignore[union-attr]
    assert heard == [(1.0, 3.0, "one"), (2.0, None, None), (3.5, 3.0, None)]
    assert seen[0]["params"]["_meta"]["progressToken"] == seen[0]["id"]


async def test_the_answer_ends_a_stream_that_stays_open() -> None:
    """As the SDK client: the first response is the answer; that connection is not reused."""

    def left_open(message: dict[str, Any], _index: int) -> bytes:
        return sse({"jsonrpc": "2.0", "id": message["id"], "result": RESULT}, end=False)

    async with scripted(left_open) as (caller, seen):
        with anyio.fail_after(0.5):  # well within the call timeout (1 s)
            assert (await heard_by(caller))[0].content[0].text == "hi"
            assert (await heard_by(caller))[0].content[0].text == "hi"
    assert len(seen) == 2


async def test_an_event_over_the_sdks_limit_fails_the_call_as_there() -> None:
    def huge(message: dict[str, Any], _index: int) -> bytes:
        return sse(progress(message["id"], 1, message="x" * (1024 * 1024 + 1)))

    async with scripted(huge) as (caller, _seen):
        with pytest.raises(MCPError) as raised:
            await heard_by(caller)
    assert raised.value.code == CONNECTION_CLOSED and "SSE stream failed" in raised.value.error.message


async def test_a_stream_without_an_answer_is_unreadable() -> None:
    async with scripted(lambda message, _index: sse(progress(message["id"], 1))) as (caller, _seen):
        with pytest.raises(MCPError) as raised:
            await heard_by(caller)
    assert raised.value.code == INTERNAL_ERROR


async def test_questions_come_back_and_the_retry_carries_the_answers() -> None:
    asked = {
        "resultType": "input_required",
        "inputRequests": {"q": {"method": "roots/list", "params": {}}},
        "requestState": "opaque",
    }

    def ask_once(message: dict[str, Any], index: int) -> bytes:
        result = asked if index == 0 else RESULT
        return sse({"jsonrpc": "2.0", "id": message["id"], "result": result})

    async with scripted(ask_once) as (caller, seen):
        first, _heard = await heard_by(caller)
        assert isinstance(first, InputRequiredResult) and first.request_state == "opaque"
        answer = ListRootsResult(roots=[])
        final, _heard = await heard_by(caller, responses={"q": answer}, state="opaque")
    assert final.content[0].text == "hi"  # type: ignore[union-attr]
    retry = seen[1]["params"]
    assert (retry["inputResponses"], retry["requestState"], retry["name"]) == ({"q": {"roots": []}}, "opaque", "echo")
