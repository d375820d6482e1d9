"""Gateway CPU per HTTP tool call with observability off, with the defaults, with the per-call log line and
with tracing at 100 % and 1 % sampling, against another checkout's gateway (optional), in one run.

Same harness as `gateways.py` (echo upstream and gateways pinned to one core, the `wire` load generator on
the other, 16 sessions, CPU from `/proc/<pid>/stat`), governance on. Targets, started together and visited
in turn for `--rounds` rounds of `--seconds` each (the table shows each target's median):

- `baseline`: the other checkout's gateway (`--baseline TREE`, e.g. an export of `main`), when given;
- `off`: this tree with `observability: {call_log: false, metrics: {enabled: false}, tracing: off}`;
- `defaults`: this tree as configured by nobody: metrics on, the log line below the log level, no tracing;
- `log line`: the defaults with logging at INFO, as `mcp-guard serve` runs: one text line per call;
- `trace 100%`, `trace 1%`: the defaults (metrics on) with an OpenTelemetry SDK tracer provider sampling
  `ParentBased(TraceIdRatioBased(r))`, a batch processor and a dropping exporter (`serve_gateway.py
  --trace-sampling`), the default `trace_detail: lean` (one span per call);
- `trace 100% standard`, `trace 100% full`: the same at 100 % with `trace_detail: standard` (two spans per
  call) and `full` (nine).

The `wire` client speaks 2026-07-28, so every call takes the fast path.

The last column compares each target with `defaults` (metrics on, tracing off) of the same run.

    .venv/bin/python bench/observability_http.py [--baseline /tmp/main-src] [--rounds 5] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, byte_compiled, echo_upstream, gateway_config  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OFF = {"call_log": False, "metrics": {"enabled": False}, "tracing": "off"}


def start(tree: Path, config: Path, *, log: bool, sampling: float | None = None) -> Pinned:
    argv = [sys.executable, str(tree / "bench" / "serve_gateway.py"), str(config), "--port", str(free_port())]
    argv += ["--governance", "on"] + (["--access-log"] if log else [])
    argv += ["--trace-sampling", str(sampling)] if sampling is not None else []
    return Pinned(argv, core=cores()[0], port=int(argv[4]), env={"PYTHONPATH": byte_compiled(str(tree / "src"))})


def configs(upstream: str, key: str, workdir: Path) -> dict[str, Path]:
    """The governed benchmark configuration as it is (`plain`), with observability off, and with the
    standard and full trace detail."""
    plain = gateway_config(upstream, key, workdir, servers=1, governed=True)
    document = yaml.safe_load(plain.read_text())
    paths = {"plain": plain}
    for name, observability in {
        "off": OFF,
        "standard": {"trace_detail": "standard"},
        "full": {"trace_detail": "full"},
    }.items():
        paths[name] = workdir / f"gateway-{name}.yaml"
        paths[name].write_text(yaml.safe_dump({**document, "observability": observability}))
    return paths


def main(args: argparse.Namespace) -> dict[str, Any]:
    os.sched_setaffinity(0, {cores()[1]})
    key = generate_key()
    headers = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, echo_upstream(free_port()) as upstream, ExitStack() as stack:
        upstream.wait_listening()
        paths = configs(f"http://127.0.0.1:{upstream.port}/mcp", key, Path(tmp))
        plain = paths["plain"]
        targets = {"baseline": start(args.baseline.resolve(), plain, log=False)} if args.baseline else {}
        targets |= {
            "off": start(ROOT, paths["off"], log=False),
            "defaults": start(ROOT, plain, log=False),
            "log line": start(ROOT, plain, log=True),
            "trace 100%": start(ROOT, plain, log=False, sampling=1.0),
            "trace 1%": start(ROOT, plain, log=False, sampling=0.01),
            "trace 100% standard": start(ROOT, paths["standard"], log=False, sampling=1.0),
            "trace 100% full": start(ROOT, paths["full"], log=False, sampling=1.0),
        }
        for process in targets.values():
            stack.enter_context(process)
            process.wait_listening()
        for _ in range(args.rounds):
            for name, process in targets.items():
                spec = {"url": f"http://127.0.0.1:{process.port}/mcp", "tool": "echo__echo", "headers": headers}
                spec |= {"client": "wire", "sessions": 16, "seconds": args.seconds}
                result = drive(spec, {"gateway": process.pid, "upstream": upstream.pid})
                if result["errors"]:
                    raise RuntimeError(f"{name}: {result['errors']} failed calls")
                cpu.setdefault(name, []).append(result["gateway_cpu_ms_per_call"])
                print(f"{name:<10} {result['gateway_cpu_ms_per_call']:.3f} ms CPU/call", flush=True)
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    return {"benchmark": "observability_http", **run_label(), "rounds": cpu, "median_cpu_ms_per_call": medians}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="another checkout (a tree with src/ and bench/)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    report = main(parser.parse_args())
    medians = report["median_cpu_ms_per_call"]
    base, defaults = medians.get("baseline"), medians["defaults"]
    head = ["target", "gateway CPU per call (median)", "vs baseline", "vs defaults (tracing off)"]
    rows = [
        [name, f"{value:.3f} ms", f"{value / base:.3f}×" if base else "–", f"{value / defaults:.3f}×"]
        for name, value in medians.items()
    ]
    write_result(
        "observability_http", report, markdown_report("observability_http", report, markdown_table(head, rows))
    )
    print(text_table(head, rows))
