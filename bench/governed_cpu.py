"""Gateway CPU per governed `tools/call` against the echo upstream's own CPU per call, for this tree and
other checkouts (`--baseline TREE`, repeatable), with the audit log's `durability: queued` and `commit`, in
one run (issue 23, item 1: goal ≤ 0.7× the upstream's CPU per call).

Same harness as `gateways.py`: the echo upstream and every gateway pinned to core 0, the `wire` load client
(2026-07-28, `fast_call.py`) or with `--client handshake` the handshake-era one (`initialize`, then calls on
the session: `session_call.py`) on core 1 with 16 sessions; governance on (`startup.gateway_config`: a key, filter
headers, a per-key and a per-tool rate limit, a priced call on a team budget, an SQLite audit record per
call). All gateways are started first and visited in turn for `--rounds` rounds of `--seconds` each; CPU per
call is `/proc/<pid>/stat` utime+stime over a round divided by its calls, for the gateway and the upstream
alike, so each round gives the ratio of the two. The table shows medians (range in brackets) and each row's
gateway CPU, and its ratio to the upstream's, against this tree's in the same rounds (the second is the
steadier on a busy machine, which slows the gateway and the upstream alike).

    .venv/bin/python bench/governed_cpu.py [--baseline /tmp/main-tree] [--rounds 5] [--seconds 3] [--durability queued]
        [--client handshake]
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

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import Pinned, cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, ROOT, byte_compiled, echo_upstream, gateway_config  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402


def start(tree: Path, upstream: str, key: str, workdir: Path, durability: str) -> Pinned:
    config = gateway_config(upstream, key, workdir, servers=1, governed=True)
    document = yaml.safe_load(config.read_text())
    document["audit"] = {"sink": f"sqlite:///{workdir / f'audit-{durability}.db'}", "durability": durability}
    config = config.with_name(f"gateway-{durability}.yaml")
    config.write_text(yaml.safe_dump(document))
    port = free_port()
    argv = [sys.executable, str(tree / "bench" / "serve_gateway.py"), str(config), "--port", str(port)]
    argv += ["--governance", "on"]
    return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": byte_compiled(str(tree / "src"))})


def share(figures: dict[str, float]) -> float:
    """Gateway CPU per call over the upstream's in the same round: a busy machine slows both alike."""
    return figures["gateway_cpu_ms"] / figures["upstream_cpu_ms"]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def main(args: argparse.Namespace) -> dict[str, Any]:
    os.sched_setaffinity(0, {cores()[1]})
    trees = {"this tree": ROOT} | {f"baseline {tree}": tree.resolve() for tree in args.baseline}
    key = generate_key()
    headers = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    rounds: dict[str, list[dict[str, float]]] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mcp-guard-bench-")))
        upstream = stack.enter_context(echo_upstream(free_port()))
        upstream.wait_listening()
        url = f"http://127.0.0.1:{upstream.port}/mcp"
        gateways: dict[str, Pinned] = {}
        for durability in args.durability:
            for name, tree in trees.items():
                workdir = tmp / f"{len(gateways)}"
                workdir.mkdir()
                gateways[f"{name} · {durability}"] = stack.enter_context(start(tree, url, key, workdir, durability))
        for process in gateways.values():
            process.wait_listening()
        for number in range(args.rounds):
            print(f"== round {number + 1} of {args.rounds}", flush=True)
            for name, process in gateways.items():
                spec = {"url": f"http://127.0.0.1:{process.port}/mcp", "tool": "echo__echo", "headers": headers}
                spec |= {"client": args.client, "sessions": 16, "seconds": args.seconds, "warmup": 50}
                found = drive(spec, {"gateway": process.pid, "upstream": upstream.pid})
                figures = {
                    "calls_per_s": found["calls_per_s"],
                    "gateway_cpu_ms": found["gateway_cpu_ms_per_call"],
                    "upstream_cpu_ms": found["upstream_cpu_ms_per_call"],
                    "errors": found["errors"],
                }
                rounds.setdefault(name, []).append(figures)
                print(f"   {name:<48} {figures}", flush=True)
    head = ["gateway · durability", "calls/s at 16", "gateway CPU/call ms", "upstream CPU/call ms"]
    head += ["gateway ÷ upstream CPU", "gateway CPU vs this tree", "gateway ÷ upstream vs this tree", "errors"]
    body = []
    for name, runs in rounds.items():
        durability = name.rsplit(" · ", 1)[1]
        mine = rounds[f"this tree · {durability}"]
        body.append(
            [
                name,
                spread([r["calls_per_s"] for r in runs]),
                spread([r["gateway_cpu_ms"] for r in runs]),
                spread([r["upstream_cpu_ms"] for r in runs]),
                spread([share(r) for r in runs]),
                spread([r["gateway_cpu_ms"] / m["gateway_cpu_ms"] for r, m in zip(runs, mine, strict=True)]),
                spread([share(r) / share(m) for r, m in zip(runs, mine, strict=True)]),
                str(sum(r["errors"] for r in runs)),
            ]
        )
    print(text_table(head, body))
    label = run_label()
    result = {"run": label, "rounds": rounds, "load_average_after": os.getloadavg()}
    title = "Gateway CPU per governed call against the upstream's"
    write_result(args.output, result, markdown_report(title, label, markdown_table(head, body) + "\n"))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, action="append", default=[], help="another checkout (src/, bench/)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--client", choices=["wire", "handshake"], default="wire", help="2026-07-28, or 2025-11-25 sessions"
    )
    parser.add_argument("--output", default="governed_cpu", help="results file name (bench/results/<name>.json, .md)")
    parser.add_argument("--durability", nargs="+", choices=["queued", "commit"], default=["queued", "commit"])
    main(parser.parse_args())
