"""Prometheus metrics (the `metrics` extra: `prometheus-client`, imported only when metrics are on).

Series and their labels (every label value comes from configuration or a fixed set: no argument, no
secret, no client-chosen string; a tool name the catalog does not know is counted as `_unknown`):

    mcp_guard_tool_calls_total{server,tool,outcome,entry}    outcome: ok | tool_error | denied | failed | cancelled
    mcp_guard_tool_call_duration_seconds{server,tool}        histogram, refusals included
    mcp_guard_refusals_total{cause,reason}                   cause: auth | visibility | rate_limit | budget |
                                                             confirmation | invalid | not_found | unavailable | other
    mcp_guard_spend_usd_total{team,key}                      cost of allowed calls and model turns
    mcp_guard_code_executions_total{outcome}                 ok | error
    mcp_guard_chat_tokens_total{provider,model,kind}         kind: prompt | completion
    mcp_guard_budget_alerts_total{tier,threshold}
    mcp_guard_upstream_state{server,state}                   1 for the current state, 0 for the others
    mcp_guard_upstream_tools{server}
    mcp_guard_upstream_reconnects_total{server}
    mcp_guard_audit_queue_depth, mcp_guard_audit_write_failures_total

Several worker processes behind one port: set `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's
multi-process mode) and any process's `/metrics` reports the sum over all of them; live values (upstream
state, queue depth) then carry a `pid` label.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..audit.log import AuditLog
    from ..tool_call import ToolCall
    from ..upstreams.base import Upstream

EXTRA_HINT = "pip install 'mcp-guard[metrics]'"
UNKNOWN = "_unknown"
_STATES = ("connecting", "connected", "degraded", "disconnected", "disabled")
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CAUSES = {
    "unauthenticated": "auth",
    "not_allowed": "visibility",
    "rate_limited": "rate_limit",
    "budget_exceeded": "budget",
    "confirmation_required": "confirmation",
    "confirmation_invalid": "confirmation",
    "bad_request": "invalid",
    "body_too_large": "invalid",
    "unsupported_media_type": "invalid",
    "method_not_allowed": "invalid",
    "tool_not_found": "not_found",
    "not_found": "not_found",
    "service_unavailable": "unavailable",
}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def available() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def refusal_cause(reason: str, *, before_call: bool = False) -> str:
    """The coarse cause of a refusal; a 403 at the door (inactive key, not an admin) is an auth refusal."""
    if before_call and reason == "not_allowed":
        return "auth"
    return CAUSES.get(reason, "other")


class Metrics:
    """The gateway's series, in a registry of its own (or prometheus-client's multi-process files)."""

    def __init__(self, *, per_key: bool = True) -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            raise ConfigError(
                f"observability.metrics.enabled: prometheus-client is not installed: {EXTRA_HINT}"
            ) from None
        self._prom = prom
        self.per_key = per_key
        self.multiprocess = multiprocess_dir() is not None
        self.registry = prom.CollectorRegistry()
        into = None if self.multiprocess else self.registry  # multi-process values live in files, read at scrape
        self.calls = prom.Counter(
            "mcp_guard_tool_calls", "Tool calls by outcome", ["server", "tool", "outcome", "entry"], registry=into
        )
        self.duration = prom.Histogram(
            "mcp_guard_tool_call_duration_seconds", "Tool call latency through the gateway", ["server", "tool"],
            buckets=_BUCKETS, registry=into,
        )  # fmt: skip
        self.refusals = prom.Counter("mcp_guard_refusals", "Refusals by cause", ["cause", "reason"], registry=into)
        self.spend = prom.Counter("mcp_guard_spend_usd", "Spend by team and key", ["team", "key"], registry=into)
        self.executions = prom.Counter("mcp_guard_code_executions", "Code Mode executions", ["outcome"], registry=into)
        self.chat_tokens = prom.Counter(
            "mcp_guard_chat_tokens", "Tokens of chat endpoint model turns", ["provider", "model", "kind"], registry=into
        )
        self.alerts = prom.Counter(
            "mcp_guard_budget_alerts", "Budget threshold alerts sent", ["tier", "threshold"], registry=into
        )
        self.upstream_state = prom.Gauge(
            "mcp_guard_upstream_state", "1 for each upstream's current state", ["server", "state"],
            registry=into, multiprocess_mode="liveall",
        )  # fmt: skip
        self.upstream_tools = prom.Gauge(
            "mcp_guard_upstream_tools", "Tools each upstream offers", ["server"], registry=into,
            multiprocess_mode="liveall",
        )  # fmt: skip
        self.reconnects = prom.Counter(
            "mcp_guard_upstream_reconnects", "Reconnections per upstream", ["server"], registry=into
        )
        self.audit_queue = prom.Gauge(
            "mcp_guard_audit_queue_depth", "Audit records queued or being written", registry=into,
            multiprocess_mode="livesum",
        )  # fmt: skip
        self.audit_failures = prom.Counter(
            "mcp_guard_audit_write_failures", "Failed attempts to write audit records", registry=into
        )
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._spenders: dict[tuple[str, str], Any] = {}  # the spend counter's child per (team, key)
        self._seen: dict[Any, int] = {}  # cumulative values read from the gateway, by counter child
        self._servers: set[str] = set()  # upstreams the live series describe

    # -- per call (the hot path: label children are looked up once per combination)

    def call(self, call: ToolCall, outcome: str, reason: str | None, seconds: float) -> None:
        ref = call.ref
        if ref is None:
            server, tool = UNKNOWN, UNKNOWN
        else:  # a resource URI would make a label per URI: other methods are counted by method
            server, tool = ref.server, ref.local if ref.kind == "tool" else call.method
        key = (server, tool, outcome, call.entry_point)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.calls.labels(*key), self.duration.labels(server, tool))
        children[0].inc()
        children[1].observe(seconds)
        if reason is not None and outcome == "denied":
            self.refusals.labels(refusal_cause(reason), reason).inc()
        if call.cost:
            self.spend_of(call, call.cost)

    def spend_of(self, call: ToolCall, cost: float) -> None:
        principal = call.state.principal
        team = principal.team or "" if principal is not None else ""
        key = principal.key_name if principal is not None and self.per_key else ""
        child = self._spenders.get((team, key))
        if child is None:  # `labels()` checks and copies its labels on every use (~2 µs a priced call)
            child = self._spenders[team, key] = self.spend.labels(team, key)
        child.inc(cost)

    def refused_request(self, reason: str) -> None:
        """A request refused before any tool call (no key, unknown or inactive key, per-key rate limit)."""
        self.refusals.labels(refusal_cause(reason, before_call=True), reason).inc()

    # -- live state, read from the gateway before each scrape

    def refresh(self, upstreams: Iterable[Upstream], audit: AuditLog | None) -> None:
        current = {upstream.status.name: upstream for upstream in upstreams}
        for gone in self._servers - current.keys():  # removed at runtime: its series go too
            for state in _STATES:
                self.upstream_state.remove(gone, state)
            self.upstream_tools.remove(gone)
        self._servers = set(current)
        for upstream in current.values():
            status = upstream.status
            for state in _STATES:
                self.upstream_state.labels(status.name, state).set(1 if str(status.state) == state else 0)
            self.upstream_tools.labels(status.name).set(status.tool_count)
            self._advance(self.reconnects.labels(status.name), status.reconnects)
        if audit is not None:
            self.audit_queue.set(audit.pending)
            self._advance(self.audit_failures, audit.write_failures)

    def _advance(self, counter: Any, total: int) -> None:
        """Move a counter up to a cumulative total kept elsewhere (counters only go up)."""
        seen = self._seen.get(counter, 0)
        if total > seen:
            counter.inc(total - seen)
        self._seen[counter] = max(seen, total)

    def exposition(self) -> tuple[bytes, str]:
        """The text format for a scrape, and its content type."""
        prom = self._prom
        registry = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST

    def close(self) -> None:
        """In multi-process mode, drop this process's live values (its counters stay in the sum)."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
