"""The MCP endpoint's fast path for 2026-07-28 `tools/call` (`router/fast_call.py`) answers exactly as the
SDK would, and leaves everything unusual to the SDK: each request goes once through the gateway's session
manager and once through the SDK's own `handle_request`, and the two answers must match byte for byte."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from mcp_guard import GatewayConfig
from mcp_guard.router.mcp_endpoint import GatewaySessionManager

from .gateway_fixtures import running_gateway

pytestmark = pytest.mark.anyio

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
HEADERS = {
    "host": "127.0.0.1:8000",
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
}


def call_body(name: str, arguments: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "_meta": META}
    if arguments is not None:
        params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params, **extra}


def request(body: Any, headers: dict[str, str] | None = None, extra: list[tuple[str, str]] = ()) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    name = body["params"]["name"] if isinstance(body, dict) and "params" in body else None
    merged = {**HEADERS, **({"mcp-name": name} if name else {}), **(headers or {})}
    pairs = [(k.encode(), v.encode()) for k, v in merged.items() if v is not None] + [
        (k.encode(), v.encode()) for k, v in extra
    ]
    return {"scope": {"type": "http", "method": "POST", "path": "/", "headers": pairs}, "body": raw}


async def answer(
    handle: Any, req: dict[str, Any], keep: tuple[bytes, ...] | None = (b"content-type", b"content-length")
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, the `keep` headers (None: all) and body of the answer to `req`."""
    messages = [{"type": "http.request", "body": req["body"], "more_body": False}]
    answered = anyio.Event()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await answered.wait()  # as a server does: the client is there until it has its answer
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await handle(dict(req["scope"]), receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = [(k, v) for k, v in start["headers"] if keep is None or k in keep]
    return start["status"], headers, body


async def both(req: dict[str, Any], config: GatewayConfig | None = None) -> tuple[Any, Any]:
    async with running_gateway(config) as gateway:
        manager = gateway.router.mcp._session_manager
        assert isinstance(manager, GatewaySessionManager)
        fast = await answer(manager.handle_request, req)
        sdk = await answer(lambda s, r, se: StreamableHTTPSessionManager.handle_request(manager, s, r, se), req)
    return fast, sdk


@pytest.mark.parametrize(
    "body",
    [
        call_body("calc__add", {"a": 2, "b": 3}),
        call_body("calc__upper", {"text": "héllo"}),
        call_body("calc__refuse", {"reason": "no"}),  # the tool's own error result
        call_body("calc__crash", {}),  # a crash, reported with an error id
        call_body("calc__add", {"a": "x"}),  # invalid arguments: refused by the pipeline
        call_body("nope__missing", {}),  # unknown tool: a gateway refusal as an is_error result
        call_body("calc/add", {"a": 1, "b": 1}),  # the server/tool reference form
        call_body("calc__upper"),  # no arguments at all
    ],
)
async def test_the_fast_path_answers_like_the_sdk(body: dict[str, Any]) -> None:
    fast, sdk = await both(request(body))
    assert fast[0] == 200
    if "crash" in body["params"]["name"]:  # each crash gets its own error id
        assert json.loads(fast[2])["result"]["isError"] is json.loads(sdk[2])["result"]["isError"] is True
        return
    assert fast == sdk


@pytest.mark.parametrize(
    "req",
    [
        request(call_body("calc__add", {"a": 1, "b": 2}), {"host": "evil.example:80"}),  # DNS rebinding: 421
        request(call_body("calc__add", {"a": 1, "b": 2}), {"origin": "http://evil.example"}),  # 403
        request(call_body("calc__add", {"a": 1, "b": 2}), {"content-type": "text/plain"}),  # 400
        request(call_body("calc__add", {"a": 1, "b": 2}), {"accept": "text/html"}),  # 406
        request(call_body("calc__add", {"a": 1, "b": 2}), {"mcp-name": "calc__upper"}),  # header mismatch
        request(call_body("calc__add", {"a": 1, "b": 2}), {"mcp-protocol-version": "2099-01-01"}),
        request(call_body("calc__add", {"a": 1, "b": 2}), extra=[("mcp-method", "tools/call")]),  # duplicated
        request(call_body("calc__add", {"a": 1, "b": 2}), extra=[("mcp-param-a", "1")]),
        request(b"{not json", {"mcp-name": "calc__add"}),  # parse error
        request([call_body("calc__add", {"a": 1, "b": 2})], {"mcp-name": "calc__add"}),  # a batch
        request({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "x", "_meta": META}}),  # no id
        request(call_body("calc__add", [1, 2])),  # arguments not an object
        request(call_body("calc__add", {"a": 1, "b": 2}, extra_key=True)),
        request({**call_body("calc__add", {"a": 1}), "params": {"name": "calc__add", "_meta": {}}}),  # no envelope
    ],
)
async def test_unusual_requests_get_the_sdks_answer(req: dict[str, Any]) -> None:
    fast, sdk = await both(req)
    assert fast == sdk


async def test_a_body_over_the_limit_gets_the_sdks_413() -> None:
    big = call_body("calc__upper", {"text": "x" * 5000})
    fast, sdk = await both(request(big), GatewayConfig(max_body_bytes=1000))
    assert fast == sdk and fast[0] == 413


async def test_plain_calls_never_reach_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[str] = []
    original = StreamableHTTPSessionManager.handle_request

    async def spy(self: Any, scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["method"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(StreamableHTTPSessionManager, "handle_request", spy)
    async with running_gateway() as gateway:
        status, _headers, body = await answer(gateway.router.mcp, request(call_body("calc__add", {"a": 2, "b": 2})))
    assert status == 200 and json.loads(body)["result"]["structuredContent"] == {"result": 4}
    assert reached == []


async def test_verdicts_kept_per_header_set_and_per_meta_never_leak_between_requests() -> None:
    """The fast path judges each distinct set of headers and each distinct `_meta` once: a refused
    request between two accepted ones (and the other way round) still gets its own answer."""
    good = call_body("calc__add", {"a": 1, "b": 2})
    odd_meta = {**META, "io.modelcontextprotocol/clientInfo": {"name": "test", "version": 1}}  # not a string
    sequence = [
        request(good),
        request(good, {"host": "evil.example:80"}),
        request({**good, "params": {**good["params"], "_meta": odd_meta}}),
        request(good),
        request(good, {"accept": "text/html"}),
        request(good),
    ]
    statuses = []
    async with running_gateway() as gateway:
        manager = gateway.router.mcp._session_manager
        assert isinstance(manager, GatewaySessionManager)
        for req in sequence:
            fast = await answer(manager.handle_request, req)
            sdk = await answer(lambda s, r, se: StreamableHTTPSessionManager.handle_request(manager, s, r, se), req)
            assert fast == sdk
            statuses.append(fast[0])
    assert statuses[0] == statuses[3] == statuses[5] == 200
    assert all(status >= 400 for status in statuses[1:3] + statuses[4:5])


async def abandoned(handle: Any, req: dict[str, Any]) -> list[dict[str, Any]]:
    """What `handle` sends for `req` when its client closes the connection 0.2 s after sending it."""
    messages = [{"type": "http.request", "body": req["body"], "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep(0.2)  # the client waits a moment, then closes the connection
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(10):
        await handle(dict(req["scope"]), receive, send)
    return sent


async def test_a_client_that_goes_away_cancels_its_call_on_the_fast_path() -> None:
    """A 2026-07-28 client cancels by closing its request: the call stops and nothing is answered (the SDK's
    JSON-response mode would have run the hour-long call to its end)."""
    async with running_gateway() as gateway:
        manager = gateway.router.mcp._session_manager
        assert manager is not None
        sent = await abandoned(manager.handle_request, request(call_body("calc__hang", {"seconds": 3600})))
    assert sent == []
