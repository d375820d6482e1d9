"""Spans collected with the OpenTelemetry SDK's in-memory exporter: the tree of one call on the fast path,
the SDK path (handshake era), REST and Code Mode; W3C trace context taken from the client's header and
`_meta`, and carried to HTTP upstreams on both the direct path and the SDK client."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.support.processes import ServerProcess, free_port

from .world import World, admin_tools

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@asynccontextmanager
async def traced(exporter: InMemorySpanExporter, **config: Any) -> AsyncIterator[tuple[World, Any]]:
    """A running standalone gateway whose spans go to `exporter`."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    world = World()
    document = world.document(**config)
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools(), admin_tools()], tracer_provider=provider)
    async with gateway.lifespan():
        yield world, standalone_app(gateway)


def tree(spans: tuple[ReadableSpan, ...]) -> list[str]:
    """The span tree as indented `name (KIND)` lines, children in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        by_parent.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in by_parent.get(parent, []):
            lines.append(f"{'  ' * depth}{span.name} ({span.kind.name})")
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    return next(span for span in spans if span.name == name)


FULL_CALL_TREE = [  # `trace_detail: full`
    "  execute_tool calc__add (INTERNAL)",
    "    mcp_guard.rate_limit.admit (INTERNAL)",
    "    mcp_guard.budget.admit (INTERNAL)",
    "    tools/call add (CLIENT)",
    "    mcp_guard.audit (INTERNAL)",  # the record first, then the booking (docs/deployment.md)
    "    mcp_guard.budget.settle (INTERNAL)",
    "    mcp_guard.rate_limit.settle (INTERNAL)",
]
# `standard`: the MCP span is also the `execute_tool` span; `lean` (the default): the upstream call too
CALL_TREES = {"lean": [], "standard": ["  tools/call add (CLIENT)"], "full": FULL_CALL_TREE}


@asynccontextmanager
async def mcp_client(app: Any, mode: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    """An `mcp.Client` on the standalone app's MCP endpoint (`/mcp`)."""
    async with http_client(app, headers=headers) as http:
        async with Client(streamable_http_client("http://127.0.0.1/mcp", http_client=http), mode=mode) as client:
            yield client


@pytest.mark.parametrize("detail", ["lean", "standard", "full"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_endpoint_call_tree_on_the_fast_path_and_the_sdk_path(
    exporter: InMemorySpanExporter, mode: str, detail: str
) -> None:
    async with traced(exporter, observability={"trace_detail": detail}) as (world, app):
        headers = {"authorization": f"Bearer {world.spender}"}
        async with mcp_client(app, mode=mode, headers=headers) as client:
            exporter.clear()
            result = await client.call_tool("calc__add", {"a": 2, "b": 3})
            assert not result.is_error
    spans = exporter.get_finished_spans()
    server_span = named(spans, "tools/call calc__add")
    in_call = tuple(s for s in spans if s.context.trace_id == server_span.context.trace_id)
    if detail == "full":
        expected = ["POST (SERVER)", "  tools/call calc__add (SERVER)"] + ["  " + line for line in FULL_CALL_TREE]
    else:  # the MCP span stands for the HTTP request too: no `POST` span
        expected = ["tools/call calc__add (SERVER)"] + CALL_TREES[detail]
    assert tree(in_call) == expected, tree(spans)
    assert server_span.kind is SpanKind.SERVER
    attributes = server_span.attributes or {}
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "calc__add"
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["mcp.protocol.version"] == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert ("mcp.session.id" in attributes) is (mode == "legacy")  # the fast path serves 2026-07-28
    call_span = named(spans, "execute_tool calc__add") if detail == "full" else server_span
    call = call_span.attributes or {}
    assert call["mcp_guard.outcome"] == "ok" and call["mcp_guard.key"] == "spender" and call["mcp_guard.cost"] == 0.1
    assert call["mcp_guard.team"] == "blue" and call["mcp_guard.tool"] == "calc/add"
    assert call["mcp_guard.entry_point"] == "mcp" and "gen_ai.tool.call.id" in call
    if detail == "lean":  # the upstream call, on the call's span
        assert call["mcp_guard.upstream.transport"] == "inprocess" and call["mcp_guard.upstream.duration_ms"] > 0
    else:
        assert not any(name.startswith("mcp_guard.upstream.") for name in call)


async def test_refusal_and_tool_error_are_span_errors(exporter: InMemorySpanExporter) -> None:
    async with traced(exporter) as (world, app):
        async with mcp_client(app, "auto", {"authorization": f"Bearer {world.worker}"}) as client:
            exporter.clear()
            assert (await client.call_tool("ops__wipe", {"target": "x"})).is_error  # not visible to worker
            assert (await client.call_tool("calc__refuse", {"reason": "no"})).is_error
    spans = exporter.get_finished_spans()
    refused = named(spans, "tools/call ops__wipe")  # the MCP span is the call's span (lean detail)
    assert refused.status.status_code is StatusCode.ERROR
    # an `isError` result is `error.type` tool_error on the MCP span (the spec); the refusal's reason stays
    assert (refused.attributes or {})["error.type"] == "tool_error"
    assert (refused.attributes or {})["mcp_guard.reason"] == "not_allowed"
    failed = named(spans, "tools/call calc__refuse")
    assert (failed.attributes or {})["error.type"] == "tool_error"
    assert (failed.attributes or {})["mcp_guard.outcome"] == "tool_error"
    assert "mcp_guard.reason" not in (failed.attributes or {})


async def test_full_detail_keeps_the_refusal_on_the_execute_tool_span(exporter: InMemorySpanExporter) -> None:
    async with traced(exporter, observability={"trace_detail": "full"}) as (world, app):
        async with mcp_client(app, "auto", {"authorization": f"Bearer {world.worker}"}) as client:
            exporter.clear()
            assert (await client.call_tool("ops__wipe", {"target": "x"})).is_error  # not visible to worker
    refused = named(exporter.get_finished_spans(), "execute_tool ops__wipe")
    assert refused.status.status_code is StatusCode.ERROR
    assert (refused.attributes or {})["error.type"] == "not_allowed"


async def test_rest_call_continues_the_clients_trace(exporter: InMemorySpanExporter) -> None:
    async with traced(exporter) as (world, app), http_client(app) as http:
        call = {"id": "1", "type": "function", "function": {"name": "calc__add", "arguments": {"a": 1, "b": 2}}}
        headers = {"authorization": f"Bearer {world.worker}", "traceparent": TRACEPARENT}
        assert (await http.post("/mcp/tool/execute", json=call, headers=headers)).status_code == 200
    spans = exporter.get_finished_spans()
    lines = tree(spans)
    assert lines == ["POST (SERVER)", "  execute_tool calc__add (INTERNAL)"]  # the upstream call on the latter
    request = named(spans, "POST")
    assert format(request.context.trace_id, "032x") == TRACE_ID
    assert request.parent is not None and request.parent.is_remote
    assert (request.attributes or {})["http.response.status_code"] == 200
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}


@pytest.mark.parametrize("detail", ["lean", "full"])
async def test_meta_traceparent_parents_the_mcp_span(exporter: InMemorySpanExporter, detail: str) -> None:
    """SEP-414: `_meta.traceparent` is the MCP server span's parent; the HTTP span (full detail), or the
    client's own span named by the `traceparent` header (lean: no HTTP span), is linked."""
    from tests.integration.test_fast_call import META, answer, call_body, request

    header_parent = f"00-{'ab' * 16}-{'cd' * 8}-01"
    async with traced(exporter, observability={"trace_detail": detail}) as (world, app):
        body = call_body("calc__add", {"a": 1, "b": 1})
        body["params"]["_meta"] = {**META, "traceparent": TRACEPARENT}
        req = request(body, {"authorization": f"Bearer {world.worker}", "traceparent": header_parent})
        exporter.clear()
        status, _, raw = await answer(app, {**req, "scope": {**req["scope"], "path": "/mcp"}})
        assert status == 200, raw
    spans = exporter.get_finished_spans()
    mcp_span = named(spans, "tools/call calc__add")
    assert format(mcp_span.context.trace_id, "032x") == TRACE_ID
    assert mcp_span.parent is not None and format(mcp_span.parent.span_id, "016x") == "00f067aa0ba902b7"
    linked = [link.context.span_id for link in mcp_span.links]
    if detail == "full":
        http_span = named(spans, "POST")
        assert format(http_span.context.trace_id, "032x") == "ab" * 16
        assert linked == [http_span.context.span_id]
        child = named(spans, "execute_tool calc__add")
        assert child.parent is not None and child.parent.span_id == mcp_span.context.span_id
    else:
        assert [s.name for s in spans] == ["tools/call calc__add"]
        assert linked == [int("cd" * 8, 16)]


@pytest.mark.parametrize("detail", ["lean", "full"])
async def test_a_request_without_a_call_has_its_span_in_full_detail_only(
    exporter: InMemorySpanExporter, detail: str
) -> None:
    async with traced(exporter, observability={"trace_detail": detail}) as (world, app), http_client(app) as http:
        exporter.clear()
        response = await http.get("/mcp/tools", headers={"authorization": f"Bearer {world.worker}"})
        assert response.status_code == 200, response.text
    assert tree(exporter.get_finished_spans()) == (["GET (SERVER)"] if detail == "full" else [])


async def test_code_mode_inner_calls_nest_under_the_execution(exporter: InMemorySpanExporter) -> None:
    async with traced(exporter) as (world, app), http_client(app) as http:
        headers = {"authorization": f"Bearer {world.admin}", "x-mcp-code-mode": "true"}
        program = "const a = await calc.add({a: 1, b: 2}); return await calc.upper({text: 'x' + a.result});"
        call = {"id": "1", "type": "function", "function": {"name": "executeToolCode", "arguments": {"code": program}}}
        response = await http.post("/mcp/tool/execute", json=call, headers=headers)
        assert response.status_code == 200 and "X3" in response.json()["content"], response.text
    lines = tree(exporter.get_finished_spans())
    assert lines[:2] == ["POST (SERVER)", "  execute_tool executeToolCode (INTERNAL)"]
    assert lines[2:] == ["    execute_tool calc/add (INTERNAL)", "    execute_tool calc/upper (INTERNAL)"]


@pytest.mark.parametrize("detail", ["lean", "standard"])
@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_http_upstream_receives_the_trace_context(
    exporter: InMemorySpanExporter, protocol: str, detail: str
) -> None:
    """The direct HTTP path (2026-07-28) sends `traceparent` as a header and in `_meta`; the SDK client
    (handshake era) in `_meta`. Either way it names the gateway's span of the upstream call: its client
    span (standard detail), or the call's own span, which notes the upstream call (lean)."""
    port = free_port()
    upstream = ServerProcess(
        [sys.executable, "-m", "tests.observability.trace_echo_server", "--port", str(port)], port=port
    )
    async with upstream:
        server = {"transport": "http", "url": upstream.url, "protocol": protocol}
        config = {"servers": {"echo": server}, "observability": {"trace_detail": detail}}
        async with traced(exporter, **config) as (world, app), http_client(app) as http:
            call = {"id": "1", "type": "function", "function": {"name": "echo__seen", "arguments": {}}}
            headers = {"authorization": f"Bearer {world.admin}", "traceparent": TRACEPARENT}
            response = await http.post("/mcp/tool/execute", json=call, headers=headers)
            assert response.status_code == 200, response.text
    seen = json.loads(response.json()["content"])
    spans = exporter.get_finished_spans()
    if detail == "standard":
        upstream_span = named(spans, "tools/call seen")
        assert upstream_span.kind is SpanKind.CLIENT
        assert (upstream_span.attributes or {})["server.port"] == port
    else:
        assert [s.name for s in spans] == ["execute_tool echo__seen", "POST"]
        upstream_span = named(spans, "execute_tool echo__seen")
        noted = upstream_span.attributes or {}
        assert noted["mcp_guard.upstream.address"] == f"127.0.0.1:{port}"
        assert noted["mcp_guard.upstream.transport"] == "http" and noted["mcp_guard.upstream.duration_ms"] > 0
    sent = seen["meta"]
    assert sent is not None and sent.split("-")[1] == TRACE_ID
    assert sent.split("-")[2] == format(upstream_span.context.span_id, "016x")  # the parent of the upstream's
    assert seen["header"] == (sent if protocol == "auto" else None)  # the direct path: the HTTP header too


@pytest.mark.parametrize("sampling", ["off", "sampled out"])
async def test_fast_path_without_tracing_or_sampled_out(
    exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch, sampling: str
) -> None:
    """Tracing off: the fast path never reaches the tracer (no span object, no attributes built) and still
    answers. Sampled out (ratio 0): only the MCP span is started (non-recording; lean detail records no
    HTTP span for an MCP message); the call's own spans, which the parent-based sampler would drop, are
    not even started; nothing is exported."""
    from opentelemetry.sdk.trace import Tracer
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from mcp_guard.observability.tracing import Tracing
    from mcp_guard.router.fast_call import FastToolCall
    from tests.integration.test_fast_call import answer, call_body, request

    spans_given: list[Any] = []
    reply = FastToolCall._reply

    async def spying_reply(self: FastToolCall, *args: Any) -> dict[str, Any]:
        spans_given.append(args[-1])
        return await reply(self, *args)

    opened: list[str] = []
    mcp_span = Tracing.mcp_span

    def counting_mcp_span(self: Tracing, method: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(method)
        return mcp_span(self, method, *args, **kwargs)

    started: list[str] = []
    start_span = Tracer.start_span

    def counting_start_span(self: Tracer, name: str, *args: Any, **kwargs: Any) -> Any:
        started.append(name)
        return start_span(self, name, *args, **kwargs)

    monkeypatch.setattr(Tracer, "start_span", counting_start_span)
    monkeypatch.setattr(FastToolCall, "_reply", spying_reply)
    monkeypatch.setattr(Tracing, "mcp_span", counting_mcp_span)
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    world = World()
    observability = {"tracing": "off"} if sampling == "off" else {}
    document = world.document(observability=observability)
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools(), admin_tools()], tracer_provider=provider)
    async with gateway.lifespan():
        req = request(call_body("calc__add", {"a": 2, "b": 3}), {"authorization": f"Bearer {world.worker}"})
        status, _, raw = await answer(standalone_app(gateway), {**req, "scope": {**req["scope"], "path": "/mcp"}})
    assert status == 200, raw
    assert json.loads(raw)["result"]["content"][0]["text"] == "5"
    assert exporter.get_finished_spans() == ()
    assert len(spans_given) == 1  # the call took the fast path
    if sampling == "off":
        assert gateway.observer.tracing is None and opened == [] and spans_given == [None] and started == []
    else:
        assert opened == ["tools/call"] and not spans_given[0].is_recording()
        assert started == ["tools/call calc__add"]  # lean detail: no HTTP span for an MCP message


async def test_handshake_fast_path_spans_match_the_sdk_path(
    exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handshake-era session's call on the fast path (`router/session_call.py`) leaves the same spans, with
    the same attributes, as the same call on the SDK's path."""
    from mcp_guard.router.session_call import SessionToolCall
    from tests.integration.test_session_call import HEADERS, VERSION, call_body, open_over_http

    async def one_call() -> tuple[list[str], dict[str, Any]]:
        async with traced(exporter) as (world, app), http_client(app) as http:
            session_id = await open_over_http(http, world.worker)
            headers = {**HEADERS, "authorization": f"Bearer {world.worker}"}
            headers |= {"mcp-session-id": session_id, "mcp-protocol-version": VERSION}
            exporter.clear()
            reply = await http.post("/mcp", json=call_body("calc__add", {"a": 1, "b": 2}), headers=headers)
            assert reply.status_code == 200 and '"isError":false' in reply.text, reply.text
        spans = exporter.get_finished_spans()
        attributes = dict(named(spans, "tools/call calc__add").attributes or {})
        assert attributes.pop("mcp.session.id") == session_id
        for varying in [k for k in attributes if k.endswith(("call.id", "request_id", "duration_ms"))]:
            del attributes[varying]  # a new id, a new duration, per call
        # the session's `notifications/initialized` is handled after its 202, so its span may end up here too
        return [line for line in tree(spans) if not line.startswith("notifications/")], attributes

    fast = await one_call()
    with monkeypatch.context() as sdk_only:
        sdk_only.setattr(SessionToolCall, "_plain_headers", lambda self, scope: None)
        sdk = await one_call()
    assert fast == sdk
    assert fast[1]["mcp.protocol.version"] == VERSION and fast[1]["jsonrpc.request.id"] == "7"


@pytest.mark.parametrize("client", ["sampled-out parent", "no parent"])
async def test_sampled_out_call_still_carries_its_trace_to_the_upstream(
    exporter: InMemorySpanExporter, client: str
) -> None:
    """A sampled-out fast-path call (the parent-based sampler at ratio 0) records nothing, yet the upstream
    request names its trace with the sampled flag clear, in the header and in `_meta`: the client's trace
    id when its `traceparent` said not sampled, else a fresh one."""
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from tests.integration.test_fast_call import answer, call_body, request

    port = free_port()
    upstream = ServerProcess(
        [sys.executable, "-m", "tests.observability.trace_echo_server", "--port", str(port)], port=port
    )
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    world = World()
    document = world.document(servers={"echo": {"transport": "http", "url": upstream.url}})
    document["teams"]["red"] = {}
    parent = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"} if client == "sampled-out parent" else {}
    async with upstream:
        gateway = Gateway(parse_config(document), inprocess=[admin_tools()], tracer_provider=provider)
        async with gateway.lifespan():
            req = request(call_body("echo__seen", {}), {"authorization": f"Bearer {world.admin}", **parent})
            status, _, raw = await answer(standalone_app(gateway), {**req, "scope": {**req["scope"], "path": "/mcp"}})
    assert status == 200, raw
    seen = json.loads(json.loads(raw)["result"]["content"][0]["text"])
    assert exporter.get_finished_spans() == ()
    version, trace_id, span_id, flags = seen["meta"].split("-")
    assert seen["header"] == seen["meta"] and version == "00"
    assert int(flags, 16) & 1 == 0 and int(span_id, 16) != 0
    assert trace_id == TRACE_ID if parent else int(trace_id, 16) != 0  # the client's trace, or a new one
