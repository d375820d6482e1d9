"""Profile the gateway process under load with py-spy: where its CPU goes per `tools/call`.

The gateway alone on core 0, upstream and load on core 1; py-spy samples the gateway
while the `wire` client keeps `--sessions` sessions busy. Writes the folded stacks to
`bench/results/profile-<governance>.folded` (for flamegraph tools) and prints the heaviest frames,
inclusive and self, as shares of the gateway's samples.

    .venv/bin/python bench/profile_gateway.py [--governance on|off] [--seconds 8] [--sessions 16] [--trace-sampling R]
        [--durability queued]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _common import RESULTS  # noqa: E402
from _drive import drive  # noqa: E402
from _procs import cores, free_port  # noqa: E402
from startup import FILTER_HEADERS, echo_upstream, gateway  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402


def frame_name(frame: str) -> str:
    """`function (path/to/file.py:12)` → `function file.py`."""
    function, _, where = frame.partition(" (")
    return f"{function} {where.rsplit('/', 1)[-1].split(':')[0]}" if where else function


def summarise(folded: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples, frames = int(count), [frame_name(f) for f in stack.split(";")]
        total += samples
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples", "-- inclusive"]
    lines += [f"{n / total * 100:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["-- self"] + [f"{n / total * 100:5.1f}%  {name}" for name, n in own.most_common(top // 2)]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {cores()[1]})
    key = generate_key()
    governed = args.governance == "on"
    headers = {"authorization": f"Bearer {key}", **FILTER_HEADERS} if governed else {}
    traced = f"-trace{args.trace_sampling:g}" if args.trace_sampling is not None else ""
    durable = f"-{args.durability}" if args.durability else ""
    folded = RESULTS / f"profile-{args.governance}{traced}{durable}.folded"
    RESULTS.mkdir(exist_ok=True)
    # The upstream shares the load core here: on the gateway's core, the kernel would switch to it inside
    # the gateway's socket writes, and py-spy (wall clock) would charge that time to `write`.
    with tempfile.TemporaryDirectory() as tmp, echo_upstream(free_port(), cores()[1]) as upstream:
        upstream.wait_listening()
        options = ("--trace-sampling", str(args.trace_sampling)) if args.trace_sampling is not None else ()
        url = f"http://127.0.0.1:{upstream.port}/mcp"
        start = gateway(url, key, Path(tmp), governed=governed, options=options, durability=args.durability)
        with start(free_port(), 1) as process:
            process.wait_listening()
            url = f"http://127.0.0.1:{process.port}/mcp"
            base = {"url": url, "tool": "echo__echo", "headers": headers, "client": "wire"}
            drive(base | {"sessions": args.sessions, "seconds": 2.0}, {})  # warm-up
            py_spy = str(Path(sys.executable).with_name("py-spy"))  # installed in the venv: pip install py-spy
            spy = subprocess.Popen(
                [py_spy, "record", "--gil", "-r", "400", "-f", "raw", "-o", str(folded), "-p", str(process.pid),
                 "-d", str(int(args.seconds) + 2)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(0.5)
            result = drive(base | {"sessions": args.sessions, "seconds": args.seconds}, {"gateway": process.pid})
            spy.wait()
    print(f"{result['calls_per_s']} calls/s, gateway {result['gateway_cpu_ms_per_call']} ms CPU per call")
    print(summarise(folded, args.top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--governance", choices=["on", "off"], default="on")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--top", type=int, default=70)
    parser.add_argument("--durability", choices=["queued", "commit"], help="the audit's (default: commit)")
    parser.add_argument("--trace-sampling", type=float, help="trace with this sampling ratio (serve_gateway.py)")
    main(parser.parse_args())
