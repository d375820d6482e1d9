"""Sequential `tools/call` latency through mcp-guard (governance on) to the same `echo` tool served three
ways: in-process (a Python function in the gateway), stdio (`bench/echo_server.py` as a child process)
and streamable HTTP (the same server on a port); with the HTTP server called directly as the baseline.

Same set-up as `gateways.py`: servers on core 0, the `mcp.Client` load generator on core 1; 2,000 calls
per path after 50 warm-up calls, all in one run. Gateway CPU per call is the gateway process's own (the
stdio child's CPU is not in it; the HTTP upstream's is reported beside it).

    .venv/bin/python bench/upstream_kinds.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, ROOT, echo_upstream, gateway_config  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402

KINDS = {"in-process": "inproc__echo", "stdio": "stdio__echo", "http": "echo__echo"}


def config_with_kinds(upstream: str, key: str, workdir: Path) -> Path:
    path = gateway_config(upstream, key, workdir, servers=1, governed=True)
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    stdio = {
        "transport": "stdio",
        "command": sys.executable,
        "args": [str(BENCH / "echo_server.py"), "--transport", "stdio"],
    }
    config["servers"]["stdio"] = stdio
    config["roles"]["bench"]["tools"] = ["*"]
    path.write_text(yaml.safe_dump(config))
    return path


def main(calls: int) -> dict[str, Any]:
    os.sched_setaffinity(0, {cores()[1]})
    label = run_label()
    key = generate_key()
    headers = {"authorization": f"Bearer {key}", "x-mcp-user": "bench"}
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, echo_upstream(free_port()) as upstream:
        upstream.wait_listening()
        url = f"http://127.0.0.1:{upstream.port}/mcp"
        spec = {"client": "mcp", "sessions": 1, "calls_per_session": calls, "warmup": 50}
        rows["direct (http, no gateway)"] = drive(spec | {"url": url, "tool": "echo"}, {"upstream": upstream.pid})
        port = free_port()
        argv = [sys.executable, str(BENCH / "serve_gateway.py"), str(config_with_kinds(url, key, Path(tmp)))]
        argv += ["--port", str(port), "--inprocess"]
        with Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": str(ROOT / "src")}) as gateway:
            gateway.wait_listening()
            for kind, tool in KINDS.items():
                sent = headers | FILTER_HEADERS | {"x-mcp-include-tools": "*"}
                target = {"url": f"http://127.0.0.1:{port}/mcp", "tool": tool, "headers": sent}
                rows[kind] = drive(spec | target, {"gateway": gateway.pid, "upstream": upstream.pid})
                print(f"{kind:<12} p50 {rows[kind]['p50_ms']} ms  errors {rows[kind]['errors']}", flush=True)
    return {"benchmark": "upstream_kinds", **label, "calls": calls, "paths": rows}


def table(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    base = result["paths"]["direct (http, no gateway)"]["p50_ms"]
    head = ["upstream", "p50", "p90", "p99", "vs direct http", "gateway CPU/call", "errors"]
    rows = [
        [name, f"{r['p50_ms']:.2f} ms", f"{r['p90_ms']:.2f} ms", f"{r['p99_ms']:.2f} ms", f"{r['p50_ms'] / base:.2f}×",
         f"{r['gateway_cpu_ms_per_call']:.3f} ms" if "gateway_cpu_ms_per_call" in r else "–", r["errors"]]
        for name, r in result["paths"].items()
    ]  # fmt: skip
    return head, rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    result = main(parser.parse_args().calls)
    head, rows = table(result)
    write_result("upstream_kinds", result, markdown_report("upstream_kinds", result, markdown_table(head, rows)))
    print(text_table(head, rows))
