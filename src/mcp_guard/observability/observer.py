"""`Observer`: the one object the pipeline and the entry points report to, which fans out to the
per-call log, Prometheus metrics and OpenTelemetry spans, each only when it is on.

Every hook on the hot path is cheap when its part is off: spans are a shared no-op context, metrics and
the log line are one `None` check each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from . import metrics as metrics_module
from .calllog import CallLog
from .settings import ObservabilitySettings
from .tracing import NULL, Tracing

if TYPE_CHECKING:
    from ..audit.log import AuditLog
    from ..errors import GatewayError
    from ..state import RequestState
    from ..tool_call import ToolCall
    from ..upstreams.base import Upstream
    from .metrics import Metrics

logger = logging.getLogger(__name__)
MULTIPROCESS_REFRESH = 1.0  # seconds between live-value refreshes when several processes share metrics


class Observer:
    def __init__(self, settings: ObservabilitySettings | None = None, *, tracer_provider: Any = None) -> None:
        self.settings = settings = settings or ObservabilitySettings()
        self._tracer_provider = tracer_provider
        self.tracing: Tracing | None = None  # resolved when the gateway starts (`running`), or by `start_tracing`
        self.metrics: Metrics | None = _metrics(settings)
        self.log: CallLog | None = CallLog(self._trace_id) if settings.call_log else None

    def start_tracing(self) -> Tracing | None:
        """Decide once whether spans are made (a host app may install its tracer provider late)."""
        if self.tracing is None:
            self.tracing = Tracing.resolve(self.settings.tracing, self._tracer_provider, self.settings.trace_detail)
        return self.tracing

    @asynccontextmanager
    async def running(self, sources: Callable[[], tuple[Iterable[Upstream], AuditLog | None]]) -> AsyncIterator[None]:
        """While the gateway runs: tracing resolved; in multi-process metrics mode, live values refreshed."""
        self.start_tracing()
        try:
            async with anyio.create_task_group() as group:
                if self.metrics is not None and self.metrics.multiprocess:
                    group.start_soon(self._refresh_forever, sources)
                try:
                    yield
                finally:
                    group.cancel_scope.cancel()
        finally:
            if self.tracing is not None:
                self.tracing.shutdown()
            if self.metrics is not None:
                self.metrics.close()

    async def _refresh_forever(self, sources: Callable[[], tuple[Iterable[Upstream], AuditLog | None]]) -> None:
        assert self.metrics is not None
        while True:
            self.metrics.refresh(*sources())
            await anyio.sleep(MULTIPROCESS_REFRESH)

    def _trace_id(self) -> str | None:
        return self.tracing.trace_id() if self.tracing is not None else None

    # -- the pipeline (spans: `Tracing`, used by the pipeline directly while tracing is on)

    def meta_tool_span(self, name: str, state: RequestState, entry_point: str) -> AbstractContextManager[Any]:
        """A Code Mode meta-tool call (`executeToolCode`: its program's calls are children)."""
        return self.tracing.tool_span(name, entry_point, state.request_id) if self.tracing is not None else NULL

    def call_finished(self, call: ToolCall, outcome: str, error: GatewayError | None) -> None:
        """One tool call is over (allowed or refused); called inside its span."""
        call.state.calls += 1
        if self.metrics is None and self.log is None and self.tracing is None:
            return
        duration = time.perf_counter() - call.started
        if self.metrics is not None:
            self.metrics.call(call, outcome, error.reason if error is not None else None, duration)
        if self.log is not None:
            self.log.call(call, outcome, error, duration * 1000.0)
        if self.tracing is not None:
            self.tracing.finish_call(call, outcome, error)

    def execution_finished(self, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.executions.labels("ok" if ok else "error").inc()

    def model_span(self, provider: str, model: str) -> AbstractContextManager[Any]:
        """A chat endpoint model turn (GenAI `chat <model>` client span)."""
        return self.tracing.model_span(provider, model) if self.tracing is not None else NULL

    def model_turn(self, call: ToolCall, provider: str, model: str, prompt: int, completion: int) -> None:
        """A chat endpoint model turn was settled (inside its span): its tokens and spend."""
        if self.tracing is not None:
            self.tracing.model_usage(prompt, completion, call.cost)
        if self.metrics is not None:
            self.metrics.chat_tokens.labels(provider, model, "prompt").inc(prompt)
            self.metrics.chat_tokens.labels(provider, model, "completion").inc(completion)
            if call.cost:
                self.metrics.spend_of(call, call.cost)

    # -- the HTTP request around it all

    def request_finished(self, scope: Any, state: RequestState, status: int, started: float) -> None:
        """A request is answered: count a refusal at the door; log it unless its tool calls were logged."""
        if state.calls:
            return
        if state.refusal is not None and self.metrics is not None and state.refusal.status < 500:
            self.metrics.refused_request(state.refusal.reason)
        if self.log is not None:
            self.log.request(scope, state, status, (time.perf_counter() - started) * 1000.0)


def _metrics(settings: ObservabilitySettings) -> Metrics | None:
    wanted = settings.metrics.enabled
    if wanted is False or (wanted is None and not metrics_module.available()):
        return None
    return metrics_module.Metrics(per_key=settings.metrics.per_key)
