"""What observability costs per tool call: the per-call log line, Prometheus metrics and OpenTelemetry
spans, each against the same pipeline with all of them off, measured in one run.

One process, no sockets (as `inprocess_pipeline.py`): an in-process tool through `gateway.call` with
governance on (a key's principal, a rate-limit rule, a priced call reserved and settled against a team
budget, an audit record queued for SQLite), one gateway per variant, calls interleaved across the variants:

- `off`: `observability: {call_log: false, metrics: {enabled: false}, tracing: off}`;
- `defaults`: nothing configured: metrics on (prometheus-client is installed), the call log on but its
  logger below INFO (as a host app that never configured logging), no tracer provider: tracing off;
- `log line`: defaults with the `mcp_guard.calls` logger at INFO, formatted as JSON into a null stream;
- `trace 100%`, `trace 1%`: an OpenTelemetry SDK tracer provider sampling `ParentBased(TraceIdRatioBased(r))`
  with a batch processor and an exporter that drops the spans (the SDK's whole cost without a collector's;
  the same set-up as `serve_gateway.py --trace-sampling`), metrics on, log line off; each call runs inside
  the MCP server span the fast path opens (`Tracing.mcp_span`), so the spans are those of an MCP
  `tools/call` less the HTTP request's: the default `trace_detail: lean` (the MCP span, which is also the
  `execute_tool` span and notes the upstream call);
- `trace 100% standard`: the same with `trace_detail: standard` (plus the upstream client span);
- `trace 100% full`: the same with `trace_detail: full` (plus `execute_tool` and the five stage spans);
- `everything`: metrics, the JSON log line and tracing at 100 % (lean).

`--baseline TREE` also compares `off` with another checkout (e.g. the tree before observability) in
alternating subprocess rounds, `--rounds` of `--calls` each: the hooks' cost when everything is off.

    .venv/bin/python bench/observability_overhead.py [--calls 20000] [--baseline ../main --rounds 6]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from inprocess_pipeline import bench_document, echo  # noqa: E402

from mcp_guard import Gateway, InProcessServer  # noqa: E402
from mcp_guard.auth.keys import generate_key  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402
from mcp_guard.state import RequestState  # noqa: E402

OFF = {"call_log": False, "metrics": {"enabled": False}, "tracing": "off"}
ON = {"metrics": {"enabled": True}}


def document(workdir: Path, key: str, observability: dict[str, Any] | None) -> dict[str, Any]:
    body = bench_document(workdir, key)
    # The call does not wait for its record's commit (the default `durability: commit` waits for the writer
    # thread): that wait is the same in every variant and would hide what observability costs in a ratio.
    if _knows_durability():
        body["audit"] = {**body["audit"], "durability": "queued"}
    if observability is not None:  # absent for a tree that predates the section
        body["observability"] = observability
    return body


def dropping_provider(ratio: float = 1.0) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    return provider


def governed(gateway: Gateway, key: str) -> Callable[[], RequestState]:
    identity = gateway.governance.keys.authenticate(key)
    limiter, budget, audit = gateway.governance.rate_limiter, gateway.governance.budget, gateway.governance.audit

    def make() -> RequestState:
        return RequestState(
            principal=identity.principal, access=[identity.access], rate_limiter=limiter, budget=budget, audit=audit
        )

    return make


def variants(workdir: Path, key: str, baseline_only: bool) -> dict[str, Gateway]:
    def build(name: str, observability: dict[str, Any] | None, **kwargs: Any) -> Gateway:
        tools = InProcessServer("inproc")
        tools.add(echo)
        (workdir / name).mkdir()
        return Gateway(parse_config(document(workdir / name, key, observability)), inprocess=[tools], **kwargs)

    if baseline_only:  # `--measure-off` in a subprocess: the tree's pipeline with nothing observed
        return {"off": build("off", OFF if _knows_observability() else None)}
    traced = {"call_log": False, "metrics": {"enabled": True}, "tracing": "auto"}
    return {
        "off": build("off", OFF),
        "defaults": build("defaults", None),
        "log line": build("log", ON),
        "trace 100%": build("trace100", traced, tracer_provider=dropping_provider(1.0)),
        "trace 100% standard": build(
            "standard", {**traced, "trace_detail": "standard"}, tracer_provider=dropping_provider(1.0)
        ),
        "trace 100% full": build("full", {**traced, "trace_detail": "full"}, tracer_provider=dropping_provider(1.0)),
        "trace 1%": build("trace1", traced, tracer_provider=dropping_provider(0.01)),
        "everything": build("all", ON, tracer_provider=dropping_provider(1.0)),
    }


def _knows_durability() -> bool:
    try:
        from mcp_guard.audit.config import AuditSettings
    except ImportError:
        return False
    return "durability" in AuditSettings.model_fields


def _knows_observability() -> bool:
    from mcp_guard.config import GatewayConfig

    return "observability" in GatewayConfig.model_fields


async def measure(calls: int, baseline_only: bool = False) -> dict[str, list[int]]:
    key = generate_key()
    calls_logger = logging.getLogger("mcp_guard.calls")
    with tempfile.TemporaryDirectory() as tmp:
        gateways = variants(Path(tmp), key, baseline_only)
        states = {name: governed(gateway, key) for name, gateway in gateways.items()}
        arguments = {"text": "x"}
        samples: dict[str, list[int]] = {name: [] for name in gateways}
        names = list(gateways)
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            for gateway in gateways.values():
                await group.start(_run, gateway, stop)
            for round_ in range(1000 + calls):  # 1000 warm-up rounds first
                shift = round_ % len(names)  # each variant takes each place in the round in turn
                for name in names[shift:] + names[:shift]:
                    calls_logger.disabled = name not in ("log line", "everything")  # below INFO elsewhere
                    state = states[name]
                    start = time.perf_counter_ns()
                    await _call(gateways[name], state(), arguments, round_)
                    if round_ >= 1000:
                        samples[name].append(time.perf_counter_ns() - start)
            stop.set()  # every gateway stops as in production: its audit writer flushes
    return samples


async def _call(gateway: Gateway, state: RequestState, arguments: dict[str, Any], request_id: int) -> None:
    """One governed call; with tracing on, inside the MCP server span the fast path opens for it."""
    tracing = getattr(gateway.observer, "tracing", None)
    if tracing is None:
        await gateway.call(state, "inproc__echo", arguments, entry_point="mcp")
        return
    with tracing.mcp_span("tools/call", "inproc__echo", request_id=request_id, protocol_version=None, meta=None):
        await gateway.call(state, "inproc__echo", arguments, entry_point="mcp")


async def _run(gateway: Gateway, stop: anyio.Event, *, task_status: Any) -> None:
    async with gateway.lifespan():
        task_status.started()
        await stop.wait()


def hooks_ns(repeat: int = 200_000) -> float:
    """What one call pays for observability when all of it is off: what the MCP fast path, the pipeline and
    the direct HTTP path run for it (a few `is None` checks, the in-flight count a replaced upstream drains
    by, the request's call count, the `traceparent` check), minus the same loop without it (ns per call)."""
    from mcp_guard.observability.observer import Observer
    from mcp_guard.observability.settings import ObservabilitySettings
    from mcp_guard.observability.tracing import inject_context
    from mcp_guard.tool_call import ToolCall

    observer = Observer(ObservabilitySettings.model_validate(OFF))
    call = ToolCall("inproc__echo", {}, RequestState())
    upstream = object()
    in_flight: dict[object, int] = {}

    def hooked() -> None:
        if observer.tracing is not None:  # fast path, `Pipeline.call`, `_run`, `_finish`: one check each
            raise AssertionError
        if observer.tracing is not None or observer.tracing is not None or observer.tracing is not None:
            raise AssertionError
        in_flight[upstream] = in_flight.get(upstream, 0) + 1
        inject_context({}, {})
        if in_flight[upstream] == 1:
            del in_flight[upstream]
        observer.call_finished(call, "ok", None)

    def bare() -> None:
        pass

    timings = {}
    for name, body in (("bare", bare), ("hooked", hooked)):
        start = time.perf_counter_ns()
        for _ in range(repeat):
            body()
        timings[name] = (time.perf_counter_ns() - start) / repeat
    return timings["hooked"] - timings["bare"]


def p50_us(values: list[int]) -> float:
    return statistics.median(values) / 1000


def baseline_rounds(tree: Path, rounds: int, calls: int) -> dict[str, list[float]]:
    """`off` of this tree and of `tree`, in alternating subprocess rounds: p50 µs of each round."""
    here = Path(__file__).resolve().parents[1]
    medians: dict[str, list[float]] = {"this tree": [], "baseline": []}
    for _ in range(rounds):
        for label, root in (("this tree", here), ("baseline", tree.resolve())):
            env = {**os.environ, "PYTHONPATH": f"{root / 'src'}"}
            argv = [sys.executable, __file__, "--measure-off", "--calls", str(calls)]
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            medians[label].append(json.loads(out.splitlines()[-1])["p50_us"])
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare `off` with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--measure-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_off:
        samples = anyio.run(measure, args.calls, True)
        print(json.dumps({"p50_us": round(p50_us(samples["off"]), 3)}))
        return
    handler = logging.StreamHandler(io.StringIO())
    from mcp_guard.observability.logformat import JsonFormatter

    handler.setFormatter(JsonFormatter())
    calls_logger = logging.getLogger("mcp_guard.calls")
    calls_logger.addHandler(handler)
    calls_logger.setLevel(logging.INFO)
    calls_logger.propagate = False
    samples = anyio.run(measure, args.calls)
    hooks = statistics.median(hooks_ns() for _ in range(5)) / 1000
    off = p50_us(samples["off"])
    rows = [
        [name, round(p50_us(values), 2), f"{p50_us(values) - off:+.2f} µs", f"{p50_us(values) / off:.3f}×"]
        for name, values in samples.items()
    ]
    result: dict[str, Any] = {
        "benchmark": "observability_overhead",
        **run_label(),
        "calls": args.calls,
        "p50_us": {name: round(p50_us(values), 3) for name, values in samples.items()},
    }
    result["hooks_off_us"] = round(hooks, 3)
    head = ["variant", "p50 µs per call", "vs off", "ratio"]
    body = markdown_table(head, rows)
    body += f"\nEvery hook with everything off: {hooks:.3f} µs per call, {hooks / off:.2%} of `off`'s call.\n"
    if args.baseline is not None:
        medians = baseline_rounds(args.baseline, args.rounds, min(args.calls, 10_000))
        mine, theirs = statistics.median(medians["this tree"]), statistics.median(medians["baseline"])
        result["baseline"] = {"tree": str(args.baseline), "rounds": medians, "ratio": round(mine / theirs, 3)}
        body += (
            f"\n`off` against {args.baseline} (median of {args.rounds} alternating rounds): "
            f"{mine:.2f} µs vs {theirs:.2f} µs, {mine / theirs:.3f}×\n"
        )
    write_result("observability_overhead", result, markdown_report("observability_overhead", result, body))
    print(text_table(head, rows))
    print(f"hooks with everything off: {hooks:.3f} µs per call ({hooks / off:.2%} of off)")
    if "baseline" in result:
        print(f"off vs baseline: {result['baseline']['ratio']}× ({result['baseline']['rounds']})")


if __name__ == "__main__":
    main()
