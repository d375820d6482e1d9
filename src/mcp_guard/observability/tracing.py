"""OpenTelemetry spans for every request and tool call, named and attributed per the OpenTelemetry MCP and
GenAI semantic conventions, and W3C trace context in and out.

Tracing is on when a real tracer provider exists: one the host app installed globally, one passed to
`Gateway(tracer_provider=...)`, or one built from the standard `OTEL_*` variables (`otel_env.py`) when the `otel`
extra is installed (`OTEL_TRACES_EXPORTER=console` prints spans, `otlp` exports them). Otherwise every hook
is a shared no-op context, so a gateway without tracing pays nothing measurable (bench/README.md).

The tree of one tool call on the MCP endpoint (`trace_detail: lean`, the default) is one span:

    tools/call <name>               SERVER  the MCP message (parent: `_meta.traceparent` when sent, SEP-414,
                                            else the client's `traceparent` header), also the GenAI
                                            `execute_tool` span: the governed call's attributes are on it,
                                            and the upstream call's (`mcp_guard.upstream.*`); the upstream
                                            request carries its `traceparent`, so the upstream's spans are
                                            its children

`trace_detail: standard` keeps the upstream call a CLIENT span of its own, `tools/call <tool>`, inside it.
Elsewhere (REST, the chat endpoint) the HTTP request's `POST` SERVER span is recorded, started only once
the request opens a span of its own (`_RequestSpan`), and the governed call is an `execute_tool <name>`
INTERNAL span in it. The guard stages are no spans of their own: what they decided is on the call's span
(`error.type`, `mcp_guard.reason`, `mcp_guard.cost`). Each recorded span costs the SDK ~10-45 µs of CPU,
more than the rest of a gateway's observability together (bench/README.md), so the default records one
per MCP call. `trace_detail: full` records the HTTP span of every governed request, the stage spans, and
keeps `execute_tool` a child of the MCP span:

    POST                            SERVER  the HTTP request (parent: the client's `traceparent` header)
    └─ tools/call <name>            SERVER
       └─ execute_tool <server/tool> INTERNAL
          ├─ mcp_guard.rate_limit.admit, mcp_guard.budget.admit   INTERNAL
          ├─ tools/call <tool>       CLIENT
          ├─ mcp_guard.budget.settle, mcp_guard.rate_limit.settle   INTERNAL
          └─ mcp_guard.audit         INTERNAL
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from functools import lru_cache
from time import perf_counter_ns, time_ns
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from .otel_env import provider_from_env

if TYPE_CHECKING:
    from ..errors import GatewayError
    from ..state import CallGuard
    from ..tool_call import ToolCall
    from ..upstreams.base import Upstream


NULL: AbstractContextManager[Any] = nullcontext()
_propagating = False  # set once tracing is on: `inject_context` then writes `traceparent`
# The MCP `tools/call` span being served, which the governed call claims as its `execute_tool` span (lean
# detail). Claimed once, so a Code Mode program's inner calls (child tasks that copy the context) open spans
# of their own.
_serving_call: ContextVar[_Served | None] = ContextVar("mcp_guard_serving_call", default=None)


def inject_context(headers: MutableMapping[str, Any], params: MutableMapping[str, Any]) -> None:
    """Write the current W3C trace context (`traceparent`, `tracestate`) into an outgoing request's HTTP
    headers and its `params._meta` (SEP-414, as the SDK's client does); nothing while tracing is off."""
    if _propagating:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # once (~2.5 µs), copied to both: the sampled-out flag travels too
        headers.update(carrier)
        params.setdefault("_meta", {}).update(carrier)


class Tracing:
    """Spans of one gateway, from `tracer` (see the module docstring for the tree)."""

    def __init__(self, provider: Any, *, owned: bool = False, detail: str = "lean") -> None:
        from ..version import __version__

        global _propagating
        _propagating = True
        self.provider = provider
        self.owned = owned  # built here from OTEL_* variables: flushed and shut down with the gateway
        self.full = detail == "full"  # guard stages as spans, `execute_tool` apart from the MCP span
        self.client_spans = detail != "lean"  # the upstream call a span of its own, not attributes
        self.tracer: trace.Tracer = provider.get_tracer("mcp_guard", __version__)

    @classmethod
    def resolve(cls, mode: str, provider: Any = None, detail: str = "lean") -> Tracing | None:
        """Tracing from `provider`, else the global provider if the app installed one, else from `OTEL_*`."""
        if mode == "off":
            return None
        if provider is not None:
            return cls(provider, detail=detail)
        installed = trace.get_tracer_provider()
        if not isinstance(installed, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return cls(installed, detail=detail)
        built = provider_from_env()
        return cls(built, owned=True, detail=detail) if built is not None else None

    def shutdown(self) -> None:
        if self.owned:
            self.provider.force_flush()

    # -- spans

    def request(self, scope: Mapping[str, Any]) -> AbstractContextManager[_RequestSpan]:
        """The HTTP request: its server span (child of the client's `traceparent` header), started at once in
        full detail, else only when a span of the gateway needs a parent; `finish` it with the status."""
        request = _RequestSpan(self.tracer, scope, _header_context(scope))
        return self._started(request) if self.full else request

    @staticmethod
    @contextmanager
    def _started(request: _RequestSpan) -> Iterator[_RequestSpan]:
        with trace.use_span(request.span(), end_on_exit=True):
            yield request

    def mcp_span(
        self,
        method: str,
        target: str | None,
        *,
        request_id: Any,
        protocol_version: str | None,
        meta: Mapping[str, Any] | None,
        session_id: str | None = None,
    ) -> AbstractContextManager[Span]:
        """The MCP server span of one message; parent `_meta`'s trace context when it has one (SEP-414), with
        a link to the HTTP span it arrived in."""
        attributes: dict[str, Any] = {
            "mcp.method.name": method,
            "network.transport": "tcp",
            "network.protocol.name": "http",
        }
        if protocol_version:
            attributes["mcp.protocol.version"] = protocol_version
        if request_id is not None:
            attributes["jsonrpc.request.id"] = str(request_id)
        if session_id:
            attributes["mcp.session.id"] = session_id
        if method == "tools/call":
            attributes["gen_ai.operation.name"] = "execute_tool"
            if target:
                attributes["gen_ai.tool.name"] = target
        parent = _meta_context(meta)
        links = None
        if parent is not None:
            ambient = trace.get_current_span().get_span_context()
            links = [Link(ambient)] if ambient.is_valid else None
        name = f"{method} {target}" if target else method
        span = self.tracer.start_span(name, parent, SpanKind.SERVER, attributes, links)
        serves_call = method == "tools/call" and not self.full and span.is_recording()
        return _CurrentSpan(span, _Served(span) if serves_call else None)

    def call_span(self, call: ToolCall) -> AbstractContextManager[Span]:
        """The GenAI `execute_tool` span of one governed call, on whichever path it came."""
        current = trace.get_current_span()
        if _sampled_out(current):
            return nullcontext(current)
        attributes = {"gen_ai.tool.call.id": call.id}
        if call.parent_id:
            attributes["mcp_guard.parent_id"] = call.parent_id
        served = _claim(current)
        if served is not None:  # its attributes are gathered and set once, when the call is over
            attributes["mcp_guard.entry_point"] = call.entry_point
            attributes["mcp_guard.request_id"] = call.state.request_id
            served.attributes = attributes
            return _Gathered(served)
        return _with_attributes(self.tool_span(call.name, call.entry_point, call.state.request_id), attributes)

    def tool_span(self, name: str, entry_point: str, request_id: str) -> AbstractContextManager[Span]:
        """An `execute_tool` span: a governed call, or a Code Mode meta-tool (whose inner calls nest in it).
        In lean detail, the MCP `tools/call` span being served stands in for it."""
        current = trace.get_current_span()
        if _sampled_out(current):
            return nullcontext(current)
        attributes = {"mcp_guard.entry_point": entry_point, "mcp_guard.request_id": request_id}
        served = _claim(current)
        if served is not None:
            served.span.set_attributes(attributes)
            return nullcontext(served.span)
        attributes["gen_ai.operation.name"] = "execute_tool"
        attributes["gen_ai.tool.name"] = name
        return self.tracer.start_as_current_span(
            f"execute_tool {name}", attributes=attributes, context=_request_parent()
        )

    def stage(self, name: str) -> AbstractContextManager[Span]:
        dropped = _unsampled_parent()
        return nullcontext(dropped) if dropped is not None else self.tracer.start_as_current_span(name)

    def traced_guard(self, guard: CallGuard) -> CallGuard:
        """`guard` whose admit and settle each run in a span (`mcp_guard.rate_limit.admit`, ...); the
        pipeline asks for it in full detail only."""
        return _TracedGuard(guard, self, _STAGES.get(type(guard).__name__, type(guard).__name__))

    def traced_upstream(self, upstream: Upstream) -> Upstream:
        """`upstream` whose calls run in an MCP client span, or (lean detail) are noted on the current span;
        `upstream` itself when that span is not recorded (sampled out)."""
        if self.client_spans:
            return _TracedUpstream(upstream, self)  # type: ignore[return-value]
        span = trace.get_current_span()
        if not span.is_recording():
            return upstream
        config = upstream.config
        version = getattr(upstream.status, "protocol_version", None)
        gathered = _gathered(span)
        note = gathered.update if gathered is not None else span.set_attributes
        noted = _NotedUpstream(upstream, note, _noted_attributes(config.transport, config.url, version))
        return noted  # type: ignore[return-value]

    def upstream_span(self, upstream: Upstream, tool: str) -> AbstractContextManager[Span]:
        """The MCP client span of the upstream call."""
        dropped = _unsampled_parent()
        if dropped is not None:
            return nullcontext(dropped)
        config = upstream.config
        attributes = {**_upstream_attributes(config.name, config.transport, config.url), "gen_ai.tool.name": tool}
        version = getattr(upstream.status, "protocol_version", None)
        if version:
            attributes["mcp.protocol.version"] = version
        return self.tracer.start_as_current_span(f"tools/call {tool}", kind=SpanKind.CLIENT, attributes=attributes)

    def model_span(self, provider: str, model: str) -> AbstractContextManager[Span]:
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model}
        return self.tracer.start_as_current_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes, context=_request_parent()
        )

    @staticmethod
    def model_usage(prompt: int, completion: int, cost: float) -> None:
        trace.get_current_span().set_attributes(
            {"gen_ai.usage.input_tokens": prompt, "gen_ai.usage.output_tokens": completion, "mcp_guard.cost": cost}
        )

    def finish_call(self, call: ToolCall, outcome: str, error: GatewayError | None) -> None:
        """What the call came to, on its `execute_tool` span (the current one)."""
        span = trace.get_current_span()
        if not span.is_recording():  # sampled out: nothing it is given is kept, so nothing is worked out
            return
        principal = call.state.principal
        attributes: dict[str, Any] = {"mcp_guard.outcome": outcome, "mcp_guard.cost": call.cost}
        if call.ref is not None:
            attributes["mcp_guard.server"] = call.ref.server
            attributes["mcp_guard.tool"] = str(call.ref)
        if principal is not None:
            attributes["mcp_guard.key"] = principal.key_name
            if principal.team:
                attributes["mcp_guard.team"] = principal.team
        if error is not None:
            attributes["mcp_guard.reason"] = error.reason  # stays when the MCP span's `error.type` says tool_error
            attributes["error.type"] = error.reason
        elif outcome == "tool_error":
            attributes["error.type"] = "tool_error"
        gathered = _gathered(span)
        if gathered is not None:
            gathered.update(attributes)
        else:
            span.set_attributes(attributes)
        if error is not None:
            span.set_status(StatusCode.ERROR, error.message)
        elif outcome == "tool_error":
            span.set_status(StatusCode.ERROR)

    @staticmethod
    def trace_id() -> str | None:
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None


_W3C = (b"traceparent", b"tracestate", b"baggage")
# The HTTP request being served whose span is not started yet (lean detail; `Tracing.request`).
_pending_request: ContextVar[_RequestSpan | None] = ContextVar("mcp_guard_pending_request", default=None)


class _RequestSpan:
    """The HTTP server span of one request, started when first needed, dated from the request's arrival.

    In lean detail an MCP message needs none (its MCP server span, parented by the same `traceparent`, stands
    for the request: one recorded span fewer per call); a REST call or a chat turn starts it as its parent."""

    __slots__ = ("_arrived", "_attached", "_closed", "_parent", "_pending", "_scope", "_span", "_tracer")

    def __init__(self, tracer: trace.Tracer, scope: Mapping[str, Any], parent: otel_context.Context | None) -> None:
        self._tracer, self._scope, self._parent = tracer, scope, parent
        self._arrived = time_ns()
        self._span: Span | None = None
        self._closed = False

    def __enter__(self) -> _RequestSpan:
        """Pending while the request is served (lean and standard detail); the header's context current."""
        self._pending = _pending_request.set(self)
        self._attached = otel_context.attach(self._parent) if self._parent is not None else None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._attached is not None:
            otel_context.detach(self._attached)
        _pending_request.reset(self._pending)
        self.close()

    def span(self) -> Span:
        if self._span is None:
            method = self._scope.get("method", "HTTP")
            attributes = {"http.request.method": method, "url.path": self._scope.get("path", ""), "url.scheme": "http"}
            self._span = self._tracer.start_span(
                method, self._parent, SpanKind.SERVER, attributes, start_time=self._arrived
            )
        return self._span

    def context(self) -> otel_context.Context | None:
        """A context with the span started (None once the request is answered: then the caller's own)."""
        return None if self._closed else trace.set_span_in_context(self.span(), self._parent)

    def finish(self, status: int) -> None:
        span = self._span
        if span is None:
            return
        span.set_attribute("http.response.status_code", status)
        if status >= 500:  # HTTP conventions: a 4xx is the client's error, not the server span's
            span.set_attribute("error.type", str(status))
            span.set_status(StatusCode.ERROR)

    def close(self) -> None:
        self._closed = True
        if self._span is not None:
            self._span.end()


def _request_parent() -> otel_context.Context | None:
    """The parent of a span about to start: the request's span, started now, when no span of the gateway is
    current yet (lean detail); else None, the current context."""
    pending = _pending_request.get()
    if pending is None or trace.get_current_span().is_recording():
        return None
    return pending.context()


_STAGES = {"RateLimiter": "rate_limit", "BudgetGuard": "budget"}


class _TracedGuard:
    """A pipeline guard whose steps are spans; the pipeline uses it only while tracing is on."""

    def __init__(self, guard: CallGuard, tracing: Tracing, stage: str) -> None:
        self.guard, self.tracing, self.stage = guard, tracing, stage

    async def admit(self, call: Any) -> Any:
        with self.tracing.stage(f"mcp_guard.{self.stage}.admit"):
            return await self.guard.admit(call)

    async def settle(self, call: Any, token: Any, succeeded: bool) -> None:
        with self.tracing.stage(f"mcp_guard.{self.stage}.settle"):
            await self.guard.settle(call, token, succeeded)


class _TracedUpstream:
    """An upstream whose calls are MCP client spans (the request then carries `traceparent`)."""

    def __init__(self, upstream: Upstream, tracing: Tracing) -> None:
        self.upstream, self.tracing = upstream, tracing

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        with self.tracing.upstream_span(self.upstream, tool):
            return await self.upstream.call(tool, arguments)


class _NotedUpstream:
    """An upstream whose calls are noted (`note`) on the call's span (lean detail: no client span, ~45 µs
    of SDK CPU saved per call): how long it took and, when it raised, what."""

    __slots__ = ("attributes", "note", "upstream")

    def __init__(self, upstream: Upstream, note: Callable[[dict[str, Any]], None], attributes: dict[str, Any]):
        self.upstream, self.note, self.attributes = upstream, note, attributes

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        started = perf_counter_ns()
        error: str | None = None
        try:
            return await self.upstream.call(tool, arguments)
        except BaseException as exc:
            error = type(exc).__qualname__
            raise
        finally:
            noted = {**self.attributes, "mcp_guard.upstream.duration_ms": (perf_counter_ns() - started) / 1e6}
            if error is not None:
                noted["mcp_guard.upstream.error.type"] = error
            self.note(noted)


@lru_cache(maxsize=1024)
def _noted_attributes(transport: str, url: str | None, version: str | None) -> dict[str, Any]:
    """What the call's span says about its upstream in lean detail, worked out once per upstream (copied).
    The server's name is `mcp_guard.server` already; no `server.*`: on a SERVER span that is the gateway."""
    attributes: dict[str, Any] = {"mcp_guard.upstream.transport": transport}
    if url:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        attributes["mcp_guard.upstream.address"] = f"{parts.hostname or ''}:{port}"
    if version:
        attributes["mcp_guard.upstream.protocol_version"] = version
    return attributes


@contextmanager
def _with_attributes(opened: AbstractContextManager[Span], attributes: dict[str, Any]) -> Iterator[Span]:
    with opened as span:
        span.set_attributes(attributes)
        yield span


@lru_cache(maxsize=1024)
def _upstream_attributes(server: str, transport: str, url: str | None) -> dict[str, Any]:
    """What an upstream's client spans say about it, worked out once per upstream, not per call (copied)."""
    attributes: dict[str, Any] = {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "mcp_guard.server": server,
        "network.transport": "pipe" if transport == "stdio" else "tcp",
    }
    if url:
        parts = urlsplit(url)
        attributes["server.address"] = parts.hostname or ""
        attributes["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    return attributes


class _Served:
    """The MCP `tools/call` span being served (lean detail), claimed once by the governed call as its
    `execute_tool` span; `attributes`: what the call notes on it while it runs (None before and after)."""

    __slots__ = ("attributes", "claimed", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.claimed = False
        self.attributes: dict[str, Any] | None = None


class _CurrentSpan:
    """`span` current for a `with` block and ended after it, as the SDK's `start_as_current_span` does (an
    exception is recorded on it and sets its status) without its two generator context managers (~25,000
    instructions a span; bench/README.md). `served`: the MCP `tools/call` span a governed call will claim."""

    __slots__ = ("_attached", "_served", "_serving", "_span")

    def __init__(self, span: Span, served: _Served | None) -> None:
        self._span, self._served = span, served

    def __enter__(self) -> Span:
        self._attached = otel_context.attach(trace.set_span_in_context(self._span))
        self._serving = _serving_call.set(self._served) if self._served is not None else None
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        span = self._span
        try:
            if self._serving is not None:
                _serving_call.reset(self._serving)
            otel_context.detach(self._attached)
            if isinstance(exc, Exception) and span.is_recording():  # as `trace.use_span`
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        finally:
            span.end()


class _Gathered:
    """The governed call in the MCP span it claimed: what the call, its upstream and its outcome note on the
    span is gathered in `served.attributes` and set in one `set_attributes` when the call is over (each call
    of it takes the span's lock: ~12,000 instructions saved each, twice a call)."""

    __slots__ = ("_served",)

    def __init__(self, served: _Served) -> None:
        self._served = served

    def __enter__(self) -> Span:
        return self._served.span

    def __exit__(self, *exc_info: object) -> None:
        served = self._served
        attributes, served.attributes = served.attributes, None
        if attributes:
            served.span.set_attributes(attributes)


def _claim(current: Span) -> _Served | None:
    """The MCP `tools/call` span being served, once, if it is still the `current` span (lean detail)."""
    served = _serving_call.get()
    if served is None or served.claimed:
        return None
    served.claimed = True
    return served if served.span is current else None


def _gathered(span: Span) -> dict[str, Any] | None:
    """Where attributes for `span` are gathered, when it is the claimed MCP span of the call running."""
    served = _serving_call.get()
    return served.attributes if served is not None and served.span is span else None


def _sampled_out(span: Span) -> bool:
    """Whether `span` (the current one) is a sampled-out span. Its local children would be sampled out too
    (the SDK's default `ParentBased` rule), but each would still cost a span id, a sampler decision and a
    context switch (~5 µs): at 1 % sampling, 7 of the 9 spans of a call. They are skipped; the parent (still
    carrying the trace id out in `traceparent`) stands in for them."""
    context = span.get_span_context()
    return context.is_valid and not context.trace_flags.sampled


def _unsampled_parent() -> Span | None:
    """The current span when it is a sampled-out one (`_sampled_out`), else None."""
    span = trace.get_current_span()
    return span if _sampled_out(span) else None


def mark_tool_result(span: Span, is_error: bool) -> None:
    """A tool result with `isError` is an error of the MCP span (`error.type` `tool_error`, per the spec)."""
    if is_error:
        span.set_attribute("error.type", "tool_error")
        span.set_status(StatusCode.ERROR)


def mark_rpc_error(span: Span, code: Any, message: str | None) -> None:
    """A JSON-RPC error answer: `error.type` and `rpc.response.status_code` are its code."""
    span.set_attributes({"error.type": str(code), "rpc.response.status_code": str(code)})
    span.set_status(StatusCode.ERROR, message)


def _header_context(scope: Mapping[str, Any]) -> otel_context.Context | None:
    """The trace context of a request's W3C headers (the last of each, as `dict` keeps it); None without."""
    carrier: dict[str, str] | None = None
    for name, value in scope.get("headers", ()):
        if name in _W3C:
            if carrier is None:
                carrier = {}
            carrier[name.decode("latin-1")] = value.decode("latin-1")
    return propagate.extract(carrier) if carrier is not None else None


def _meta_context(meta: Mapping[str, Any] | None) -> otel_context.Context | None:
    """The trace context a request's `_meta` carries, or None (then the ambient HTTP span is the parent)."""
    if not meta or "traceparent" not in meta:
        return None
    carrier = {k: v for k, v in meta.items() if k in ("traceparent", "tracestate", "baggage") and isinstance(v, str)}
    try:
        extracted = propagate.extract(carrier)
    except (ValueError, TypeError):
        return None
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None
