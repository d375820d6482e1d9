"""What operators configure about health, metrics, traces and per-call logs (`observability:` in the YAML)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absolute(value: str | None) -> str | None:
    if value is not None and (not value.startswith("/") or value.rstrip("/") != value or " " in value):
        raise ValueError(f"{value!r} must be an absolute path such as '/healthz' (no trailing slash), or null")
    return value


class OperationsPaths(_Model):
    """Where the operations endpoints answer, without a key, in front of every middleware (exact paths of
    the whole app, also in a host app; null turns one off)."""

    healthz: str | None = Field("/healthz", description="Liveness: 200 while the process answers.")
    readyz: str | None = Field("/readyz", description="Readiness: 200, or 503 with the reasons (`readiness`).")
    metrics: str | None = Field("/metrics", description="Prometheus metrics (the `metrics` extra).")

    _paths = field_validator("healthz", "readyz", "metrics")(_absolute)


class MetricsSettings(_Model):
    enabled: bool | None = Field(
        None,
        description="Prometheus metrics: null (default) = on when `prometheus-client` is installed (the "
        "`metrics` extra); true = required (a start-up error names the extra when it is missing); false = off.",
    )
    require_key: bool = Field(False, description="`/metrics` answers only requests with a valid key (any role).")
    per_key: bool = Field(True, description="Spend per key as well as per team (one series per key).")


class ReadinessSettings(_Model):
    """When `/readyz` says ready (200) rather than 503."""

    upstreams: Literal["any", "all", "none"] | list[str] = Field(
        "any",
        description="any: at least one enabled upstream is connected (or none is configured); all: every "
        "enabled upstream; none: upstreams do not count; a list: these servers must be connected.",
    )
    stores: bool = Field(
        True, description="A shared store in an outage (key store, budget ledger, rate limits, audit) makes it 503."
    )


class ObservabilitySettings(_Model):
    paths: OperationsPaths = Field(default_factory=OperationsPaths, description="Operations endpoints.")
    metrics: MetricsSettings = Field(default_factory=MetricsSettings, description="Prometheus metrics.")
    readiness: ReadinessSettings = Field(default_factory=ReadinessSettings, description="The `/readyz` rule.")
    call_log: bool = Field(
        True,
        description="One log line per tool call (logger `mcp_guard.calls`) and per request without a call "
        "(`mcp_guard.requests`), at INFO.",
    )
    tracing: Literal["auto", "off"] = Field(
        "auto",
        description="auto: spans when OpenTelemetry is configured (the `otel` extra and `OTEL_*` variables, or "
        "a tracer provider the host app installed); off: never.",
    )
    trace_detail: Literal["lean", "standard", "full"] = Field(
        "lean",
        description="lean: one span per MCP tool call, the MCP `tools/call` server span, which is also the GenAI "
        "`execute_tool` span and carries the guard stages' decisions and the upstream call "
        "(`mcp_guard.upstream.*`) as attributes; standard: the upstream call also a client span of its own; "
        "full: also the HTTP request's span, an `execute_tool` span apart and one span per guard stage and the "
        "audit record (about 3x the tracing cost of lean; docs/operations.md).",
    )
