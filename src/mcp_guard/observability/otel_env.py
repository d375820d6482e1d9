"""The tracer provider built from the standard `OTEL_*` variables, for a gateway that was handed none and
runs where no host app installed one (`tracing.Tracing` asks for it): `OTEL_TRACES_EXPORTER=console` prints
spans, `otlp` (or an OTLP endpoint alone) exports them; `OTEL_SDK_DISABLED=true` turns it off."""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import trace

logger = logging.getLogger(__name__)

_EXTRA_HINT = "pip install 'mcp-guard[otel]'"
_from_env: Any = None


def provider_from_env() -> Any:
    """A global SDK tracer provider built from the standard `OTEL_*` variables, once per process; None when
    they ask for no traces (or the `otel` extra is missing, which is logged)."""
    global _from_env
    if _from_env is not None:
        return _from_env
    names = _exporter_names()
    if not names:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_TRACES_EXPORTER=%s, but the OpenTelemetry SDK is missing: %s", ",".join(names), _EXTRA_HINT
        )
        return None
    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": "mcp-guard"}))
    for name in names:
        if name == "console":  # printed as each span ends, not batched: what someone trying it expects
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    _from_env = provider
    return provider


def _exporter_names() -> list[str]:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    raw = os.environ.get("OTEL_TRACES_EXPORTER")
    if raw is None:  # the spec's default is otlp, but only an operator who points it somewhere wants it
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return ["otlp"] if endpoint else []
    return [name.strip().lower() for name in raw.split(",") if name.strip() and name.strip().lower() != "none"]


def _exporter(name: str) -> Any:
    """An exporter registered under `name` (entry point group `opentelemetry_traces_exporter`); `otlp` is
    the HTTP/protobuf one unless `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL` says grpc."""
    if name == "otlp":
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        name = "otlp_proto_grpc" if protocol.strip() == "grpc" else "otlp_proto_http"
    found = list(entry_points(group="opentelemetry_traces_exporter", name=name))
    if not found:
        raise RuntimeError(f"OTEL_TRACES_EXPORTER names {name!r}, which no installed package provides ({_EXTRA_HINT})")
    return found[0].load()()
