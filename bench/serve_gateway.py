"""Serve mcp-guard for a benchmark: the standalone app of `mcp-guard serve`, or the bare router.

    python bench/serve_gateway.py CONFIG.yaml --port 9200 [--governance on|off] [--http auto|h11] [--inprocess]
        [--sdk-path SERVER ...]

`on` is exactly `mcp_guard.server.standalone_app` (all five middlewares); `off` mounts the same router at
`/mcp` without them. Unlike `mcp-guard serve`, nothing is logged per call or request (no peer below logs
per request either) unless `--access-log` is given: then, as `mcp-guard serve`, the gateway's own line
per call at INFO. `--inprocess` registers an in-process
server `inproc` with an `echo` tool. `--http h11` makes uvicorn parse HTTP with h11 instead of httptools
(a dependency of mcp-guard, which uvicorn picks by itself), to show what the parser costs.
`--trace-sampling RATIO` installs an OpenTelemetry SDK tracer provider (sampler
`ParentBased(TraceIdRatioBased(RATIO))`, a `BatchSpanProcessor` and an exporter that drops the spans: the
SDK's whole cost without a collector's) before the gateway is built, so tracing is on. `--sdk-path SERVER`
sends that server's tool calls through the SDK client instead of a direct path (the "before" of
`stdio_direct.py`).
`--no-session-fast-path` sends handshake-era `tools/call` POSTs to the SDK's path, as before
`router/session_call.py` (the "before" of `session_fast_path.py`; not a setting of the product).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn  # noqa: E402

from mcp_guard import Gateway, InProcessServer  # noqa: E402
from mcp_guard.observability.logformat import configure_logging  # noqa: E402
from mcp_guard.server import MOUNT, standalone_app  # noqa: E402


def inprocess_echo() -> InProcessServer:
    tools = InProcessServer("inproc")

    @tools.tool
    def echo(text: str) -> str:
        """Return `text` unchanged."""
        return text

    return tools


def ungoverned(gateway: Gateway) -> Any:
    """The router at `/mcp`, nothing in front of it."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await gateway.serve_lifespan(scope, receive, send)
        else:
            await gateway.router({**scope, "root_path": scope.get("root_path", "") + MOUNT}, receive, send)

    return app


def without_direct_path(servers: set[str]) -> None:
    """Tool calls to `servers` go through the SDK client, as before the direct paths (`upstreams/link.py`):
    the "before" of a direct path's benchmark, in the same gateway as its "after"."""
    from mcp_guard.upstreams.link import Link

    opened = Link.open.__func__  # type: ignore[attr-defined]

    def open_link(cls: type[Link], config: Any, client: Any, *args: Any, **kwargs: Any) -> Link:
        link: Link = opened(cls, config, client, *args, **kwargs)
        if config.name in servers:
            link.direct = link.relaying = None
        return link

    Link.open = classmethod(open_link)  # type: ignore[assignment, method-assign]


def install_tracing(ratio: float) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--governance", choices=["on", "off"], default="on")
    parser.add_argument("--http", choices=["auto", "h11"], default="auto")
    parser.add_argument("--inprocess", action="store_true")
    parser.add_argument("--access-log", action="store_true", help="log every request, as `mcp-guard serve` does")
    parser.add_argument("--trace-sampling", type=float, help="trace with this sampling ratio (0..1)")
    parser.add_argument("--sdk-path", action="append", default=[], help="no direct path to this server")
    parser.add_argument("--no-session-fast-path", action="store_true", help="handshake-era calls on the SDK path")
    args = parser.parse_args()
    without_direct_path(set(args.sdk_path))
    if args.no_session_fast_path:
        from mcp_guard.router.session_call import SessionToolCall

        SessionToolCall._plain_headers = lambda self, scope: None  # type: ignore[method-assign]
    if args.trace_sampling is not None:
        install_tracing(args.trace_sampling)
    gateway = Gateway.from_yaml(args.config, inprocess=[inprocess_echo()] if args.inprocess else [])
    app = standalone_app(gateway) if args.governance == "on" else ungoverned(gateway)
    if args.access_log:  # what `mcp-guard serve` configures: its own line per call, not uvicorn's access log
        configure_logging("info", "text")
    level = "info" if args.access_log else "warning"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http=args.http,
        log_level=level,
        log_config=None if args.access_log else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
