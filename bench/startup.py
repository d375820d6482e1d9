"""Start-up and idle memory of the gateways (issue 8), on their own in about a minute; `gateways.py` takes
its start-up and memory figures from here too.

Per target (the upstream, `bench/echo_server.py`, and the gateway pinned to core 0, the harness to core 1):

- spawn → port listening, spawn → first successful `tools/call` (polled with the `wire` client);
- RSS after start, one call and a short settle, with 1 upstream and with 10 upstreams connected (all ten
  point at the one echo server), and its file-backed part (see `_procs.rss_file_mb`).

The floor is the echo server itself started the same way: uvicorn and the `mcp` SDK serving one tool, the
least any Python MCP server here pays in start-up and memory. Each gateway is also given against it.

Targets are started in turn, `--repeat` rounds of them interleaved (A B A B …), so a noisy moment hits every
target alike; the table shows the median, the JSON keeps every sample. `--baseline TREE` adds the mcp-guard
targets run from another checkout (its `src/` and its `bench/serve_gateway.py`), for a before/after in the
same run, e.g. `git worktree add /tmp/base HEAD`.

    .venv/bin/python bench/startup.py [--repeat 3] [--baseline /tmp/base] [--fastmcp]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from _drive import first_call  # noqa: E402
from _fastmcp_env import fastmcp_python, fastmcp_version  # noqa: E402
from _httptools import httptools_path  # noqa: E402
from _procs import Pinned, cores, cpu_seconds, free_port, rss_file_mb, rss_mb  # noqa: E402

from mcp_guard.auth.keys import generate_key, hash_key  # noqa: E402

MANY = 10  # upstreams for the "idle with many" figure
IDLE_SETTLE_S = 2.0  # after the first call, before RSS is read: start-up's stragglers (tasks, threads) settle
FILTER_HEADERS = {"x-mcp-include-tools": "echo*/*", "x-mcp-user": "bench"}

Start = Callable[[int, int], Pinned]  # (port, upstream servers) -> the process, not yet started


FLOOR = "mcp SDK server alone (floor)"


@dataclass
class Target:
    """One way of reaching the echo tool."""

    name: str
    tool: str  # the tool's name through this target, with one upstream
    headers: dict[str, str] = field(default_factory=dict)
    start: Start | None = None  # None = the upstream itself
    many_tool: str = ""  # the tool's name with `MANY` upstreams ("" = no such figure for this target)


def echo_upstream(port: int, core: int | None = None) -> Pinned:
    argv = [sys.executable, str(BENCH / "echo_server.py"), "--port", str(port)]
    return Pinned(argv, core=cores()[0] if core is None else core, port=port)


def gateway_config(
    upstream: str, key: str, workdir: Path, *, servers: int, governed: bool, durability: str | None = None
) -> Path:
    names = ["echo"] if servers == 1 else [f"echo{i}" for i in range(servers)]
    config: dict[str, Any] = {"servers": {name: {"transport": "http", "url": upstream} for name in names}}
    if governed:
        config |= {
            "roles": {"bench": {"tools": ["echo*/*"]}},
            "teams": {"bench": {"budget": {"limit": 1_000_000_000, "period": "1d"}}},
            "keys": [{"name": "bench", "hash": hash_key(key), "roles": ["bench"], "team": "bench"}],
            "auth": {"store": f"sqlite:///{workdir / 'keys.db'}"},
            "rate_limits": {
                "requests_per_key": "100000000/minute",
                "rules": [{"tools": "*", "limit": "100000000/minute"}],
            },
            "pricing": {"default": 0.0001},
            "audit": {"sink": f"sqlite:///{workdir / 'audit.db'}"},
        }
        if durability is not None:  # else the default (`commit`)
            config["audit"]["durability"] = durability
    path = workdir / f"gateway-{servers}-{'on' if governed else 'off'}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def gateway(
    upstream: str,
    key: str,
    workdir: Path,
    *,
    governed: bool,
    h11: bool = False,
    tree: Path | None = None,
    options: tuple[str, ...] = (),
    durability: str | None = None,
) -> Start:
    """mcp-guard as installed (uvicorn with httptools, a dependency); `h11`: uvicorn's pure-Python parser.
    `tree`: another checkout's gateway (default: this one, or `BENCH_GATEWAY_SRC` for another `src/`);
    `options`: more `serve_gateway.py` options (`--trace-sampling 0.01`); `durability`: the audit's, if not the
    default."""
    script = (tree or ROOT) / "bench" / "serve_gateway.py"
    source = byte_compiled(str(tree / "src") if tree else os.environ.get("BENCH_GATEWAY_SRC", str(ROOT / "src")))

    def start(port: int, servers: int = 1) -> Pinned:
        config = gateway_config(upstream, key, workdir, servers=servers, governed=governed, durability=durability)
        argv = [sys.executable, str(script), str(config), "--port", str(port)]
        argv += ["--governance", "on" if governed else "off", "--http", "h11" if h11 else "auto", *options]
        return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": source})

    return start


def byte_compiled(source: str) -> str:
    """`source` with its modules byte-compiled, as `pip install` leaves a package. An editable tree run with
    PYTHONDONTWRITEBYTECODE (set in this environment) never gets `__pycache__`, so every start would compile
    all of mcp-guard again: ~70 ms and ~1 MB here, which no installed gateway pays."""
    compileall.compile_dir(source, quiet=1)
    return source


def fastmcp(upstream: str, *, httptools: bool = False) -> Start:
    """FastMCP as its own environment installs it (uvicorn with h11); `httptools` puts httptools on its path."""

    def start(port: int, servers: int = 1) -> Pinned:
        argv = [str(fastmcp_python()), str(BENCH / "fastmcp_proxy.py"), "--upstream", upstream]
        argv += ["--port", str(port), "--servers", str(servers)]
        path = str(httptools_path()) if httptools else ""
        return Pinned(argv, core=cores()[0], port=port, env={"PYTHONPATH": path})

    return start


def mcp_guard_targets(upstream: str, key: str, workdir: Path, *, tree: Path | None = None) -> list[Target]:
    """Governance off and on; `tree` names the rows after another checkout's gateway."""
    auth = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    suffix = " (baseline)" if tree else ""
    off = gateway(upstream, key, workdir, governed=False, tree=tree)
    on = gateway(upstream, key, workdir, governed=True, tree=tree)
    return [
        Target(f"mcp-guard, governance off{suffix}", "echo__echo", {}, off, "echo9__echo"),
        Target(f"mcp-guard, governance on{suffix}", "echo__echo", auth, on, "echo9__echo"),
    ]


def targets(upstream: str, key: str, workdir: Path, with_fastmcp: bool) -> list[Target]:
    """Everything `gateways.py` compares; the `+ httptools` / `h11` variants have no many-upstreams figure
    (same memory as the row above them)."""
    auth = {"authorization": f"Bearer {key}", **FILTER_HEADERS}
    on_h11 = gateway(upstream, key, workdir, governed=True, h11=True)
    found = [
        Target("direct", "echo"),
        *mcp_guard_targets(upstream, key, workdir),
        Target("mcp-guard, governance on, h11", "echo__echo", auth, on_h11),
    ]
    if with_fastmcp:
        found += [fastmcp_target(upstream), fastmcp_target(upstream, httptools=True)]
    return found


def fastmcp_target(upstream: str, *, httptools: bool = False) -> Target:
    if httptools:
        return Target("FastMCP proxy + httptools", "echo", {}, fastmcp(upstream, httptools=True))
    return Target("FastMCP proxy, session reused", "echo", {}, fastmcp(upstream), "echo9_echo")


@contextmanager
def started(target: Target, servers: int = 1) -> Iterator[tuple[Pinned, str, dict[str, Any]]]:
    """The target's process with `servers` upstreams, its URL, and its start-up and idle-memory figures."""
    if target.start is None:
        raise ValueError(f"{target.name} is not started by the harness")
    port = free_port()
    with target.start(port, servers) as process:
        listening = process.wait_listening()
        url = f"http://127.0.0.1:{port}/mcp"
        first = first_call(url, target.tool if servers == 1 else target.many_tool, target.headers, process.started_at)
        cpu = cpu_seconds(process.pid)  # steadier than the wall-clock figures on a shared machine
        time.sleep(IDLE_SETTLE_S)
        figures = {
            "servers": servers,
            "listening_s": round(listening, 3),
            "first_call_s": round(first, 3),
            "cpu_to_first_call_s": round(cpu, 3),
            "rss_idle_mb": round(rss_mb(process.pid), 1),
            "rss_file_mb": round(rss_file_mb(process.pid), 1),
        }
        yield process, url, figures


def idle_figures(target: Target, servers: int) -> dict[str, Any]:
    with started(target, servers) as (_process, _url, figures):
        return figures


# -- the start-up benchmark on its own -------------------------------------------------------------------

FIGURES = ("listening_s", "first_call_s", "cpu_to_first_call_s", "rss_idle_mb", "rss_file_mb")


def floor_target() -> Target:
    """The echo server started alone, as a target: what uvicorn and the SDK cost before any gateway."""
    return Target(FLOOR, "echo", {}, lambda port, _servers: echo_upstream(port))


def main(args: argparse.Namespace) -> dict[str, Any]:
    server_core, load_core = cores()
    os.sched_setaffinity(0, {load_core})  # the harness itself stays off the server core
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="mcp-guard-startup-") as tmp, echo_upstream(free_port()) as upstream:
        upstream.wait_listening()
        url, key, workdir = f"http://127.0.0.1:{upstream.port}/mcp", generate_key(), Path(tmp)
        chosen = [floor_target(), *mcp_guard_targets(url, key, workdir)]
        if args.baseline:
            chosen += mcp_guard_targets(url, key, workdir, tree=Path(args.baseline).resolve())
        if args.fastmcp:
            chosen.append(fastmcp_target(url))
        for target in chosen:  # one unmeasured start each, to warm the page cache
            idle_figures(target, 1)
        for round_ in range(args.repeat):
            for target in chosen:
                for servers in (1, MANY) if target.many_tool else (1,):
                    figures = idle_figures(target, servers)
                    samples.setdefault(target.name, {}).setdefault(str(servers), []).append(figures)
                    print(f"   round {round_ + 1} {target.name}, {servers} upstream(s): {_brief(figures)}", flush=True)
    return {
        "benchmark": "startup",
        **run_label(),
        **({"fastmcp": fastmcp_version()} if args.fastmcp else {}),
        "cores": {"servers": server_core, "harness": load_core},
        "rounds": args.repeat,
        "idle_settle_s": IDLE_SETTLE_S,
        "medians": {name: {n: _medians(runs) for n, runs in runs_by.items()} for name, runs_by in samples.items()},
        "samples": samples,
    }


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median of every figure, and the best (lowest) of each time: on a shared machine the best round
    is the one least disturbed by others."""
    medians = {key: round(statistics.median(run[key] for run in runs), 3) for key in FIGURES}
    return medians | {f"best_{key}": min(run[key] for run in runs) for key in FIGURES if key.endswith("_s")}


def _brief(figures: dict[str, Any]) -> str:
    return (
        f"listening {figures['listening_s']:.2f} s, first call {figures['first_call_s']:.2f} s, "
        f"CPU {figures['cpu_to_first_call_s']:.2f} s, RSS {figures['rss_idle_mb']} MB"
    )


def table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = [
        "target",
        "listening after",
        "first call after start",
        "CPU until then",
        "idle RSS (file-backed)",
        f"first call, {MANY} upstreams",
        f"idle RSS, {MANY} upstreams",
    ]
    rows = []
    for name, by_servers in report["medians"].items():
        one, many = by_servers["1"], by_servers.get(str(MANY))
        rows.append(
            [
                name,
                _time(one, "listening_s"),
                _time(one, "first_call_s"),
                _time(one, "cpu_to_first_call_s"),
                f"{one['rss_idle_mb']:.1f} MB ({one['rss_file_mb']:.1f})",
                _time(many, "first_call_s") if many else "–",
                f"{many['rss_idle_mb']:.1f} MB" if many else "–",
            ]
        )
    return head, rows


def against_floor(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Each target as a ratio (times) and a difference (memory) to the floor of the same rounds."""
    head = [
        "target",
        "first call",
        "CPU until then",
        "idle RSS",
        f"first call, {MANY} upstreams",
        f"idle RSS, {MANY} upstreams",
    ]
    floor = report["medians"][FLOOR]["1"]
    rows = []
    for name, by_servers in report["medians"].items():
        if name == FLOOR:
            continue
        one, many = by_servers["1"], by_servers.get(str(MANY))
        rows.append(
            [
                name,
                f"{one['first_call_s'] / floor['first_call_s']:.2f}×",
                f"{one['cpu_to_first_call_s'] / floor['cpu_to_first_call_s']:.2f}×",
                f"{one['rss_idle_mb'] - floor['rss_idle_mb']:+.1f} MB",
                f"{many['first_call_s'] / floor['first_call_s']:.2f}×" if many else "–",
                f"{many['rss_idle_mb'] - floor['rss_idle_mb']:+.1f} MB" if many else "–",
            ]
        )
    return head, rows


def _time(figures: dict[str, float], key: str) -> str:
    return f"{figures[key]:.2f} s (best {figures['best_' + key]:.2f})"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (the table shows medians)")
    parser.add_argument("--baseline", metavar="TREE", help="also run the gateway of this checkout, as a baseline")
    parser.add_argument("--fastmcp", action="store_true", help="also FastMCP's proxy (makes its venv on first use)")
    result = main(parser.parse_args())
    head, rows = table(result)
    floor_head, floor_rows = against_floor(result)
    notes = (
        f"Medians of {result['rounds']} interleaved rounds, with the best round's time in brackets (every sample "
        "in `startup.json`). Start-up is timed "
        "from the spawn of the process; CPU is the gateway's own (user + system) until its first call answered, "
        "steadier than wall time on a shared machine; idle RSS is read after the first call and "
        f"{IDLE_SETTLE_S:g} s of rest, its file-backed part in brackets (it moves with the page cache: "
        f"`_procs.rss_file_mb`). The {MANY} upstreams all point at the one echo server. The floor is the echo "
        "server itself (uvicorn and the `mcp` SDK serving one tool), started the same way.\n"
    )
    floor_notes = "Against the floor of the same rounds: times as ratios, memory as the difference.\n"
    body = (
        markdown_table(head, rows) + "\n" + notes + "\n" + markdown_table(floor_head, floor_rows) + "\n" + floor_notes
    )
    write_result("startup", result, markdown_report("startup", result, body))
    print()
    print(text_table(head, rows))
    print()
    print(text_table(floor_head, floor_rows))
