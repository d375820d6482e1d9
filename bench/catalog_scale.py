"""Catalog scale: `tools/list` and listings at 100, 1,000 and 10,000 tools over 50 upstreams.

In process, catalog side only: the 50 upstreams' tool lists are handed to the catalog the way an upstream's
supervisor does after discovery (`Catalog.update_server`), so what is measured is the gateway's own work,
not an upstream's or the network's. Per size it measures:

- the catalog: time to take all 50 lists, time of one upstream's change (the rebuild after its
  `notifications/tools/list_changed` and refresh), and the memory the catalog holds (tracemalloc), before
  any listing and once every tool has been listed as an MCP tool and as an OpenAI function;
- the Code Mode discovery index brought up to date after that change (CPU and wall time; its thread's work),
  against building it from scratch;
- a key's listing (`listing_for`: role, team and key rules plus include/exclude filter headers), the first
  one after a change and the following ones, and the `tools/list` answer built from it and serialized;
- what a catalog change costs requests on other sessions: a prober task sleeps 1 ms in a loop and records how
  late it wakes while another "session" lists tools and, every 100 ms, one upstream's tools change (with the
  Code Mode discovery index in use, so it is rebuilt too). The figure is the prober's worst lateness during
  the changes, against the same loop with no change in the same run.

Baselines in the same run: `listing uncached` is the listing built for every request (what the gateway did
before the listing cache), `full rebuild` rebuilds every entry of the catalog (what it did before the
incremental rebuild); ratios are against them.

    .venv/bin/python bench/catalog_scale.py            # writes bench/results/catalog_scale.{json,md}
    .venv/bin/python bench/catalog_scale.py --quick    # 100 and 1,000 tools only
    .venv/bin/python bench/catalog_scale.py --profile  # cProfile of the 10,000-tool listing and rebuild
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mcp_types as types  # noqa: E402
from _common import markdown_table, run_label, write_result  # noqa: E402

from mcp_guard.auth.keys import hash_key  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402
from mcp_guard.filters import HeaderFilter  # noqa: E402
from mcp_guard.gateway import Gateway  # noqa: E402
from mcp_guard.listing import build_listing, listing_for  # noqa: E402
from mcp_guard.state import RequestState  # noqa: E402

SERVERS = 50
SIZES = (100, 1_000, 10_000)
ROUNDS = 20  # upstream changes in the lag measurement, 100 ms apart
KEY = "bench-key"
FILTER_HEADERS = [
    (b"x-mcp-include-clients", b",".join(f"srv{i:02d}".encode() for i in range(0, SERVERS, 2))),
    (b"x-mcp-exclude-tools", b"*/delete_*, srv04/update_*"),
]


def tools_of(server: int, count: int, generation: int = 0) -> list[types.Tool]:
    verbs = ("list", "get", "create", "update", "delete", "search")
    return [
        types.Tool(
            name=f"{verbs[i % len(verbs)]}_item{i}",
            description=f"Does {verbs[i % len(verbs)]} on item {i} of server {server} (generation {generation}).",
            input_schema={
                "type": "object",
                "properties": {"id": {"type": "string", "description": "The item ID."}, "limit": {"type": "integer"}},
                "required": ["id"],
            },
        )
        for i in range(count)
    ]


def gateway_config() -> Any:
    return parse_config(
        {
            "servers": [
                {"name": f"srv{i:02d}", "transport": "http", "url": f"http://127.0.0.1:9/{i}"} for i in range(SERVERS)
            ],
            "blocked_tools": ["*/admin_*"],
            "roles": {"dev": {"tools": [f"srv{i:02d}/*" for i in range(0, SERVERS, 1)]}},
            "teams": {"core": {"allow": ["srv49/*"], "deny": ["srv01/*", "*/create_item1?"]}},
            "keys": [{"name": "bench", "hash": hash_key(KEY), "roles": ["dev"], "team": "core", "deny": ["srv03/*"]}],
        }
    )


def new_gateway() -> Gateway:
    return Gateway(gateway_config())


def fill(gateway: Gateway, size: int) -> None:
    for i in range(SERVERS):
        gateway.catalog.update_server(f"srv{i:02d}", tools_of(i, size // SERVERS))


def request_state(gateway: Gateway) -> RequestState:
    """What KeyAuthMiddleware and HeaderFilterMiddleware leave on a request: the key's rule and the filter's."""
    state = RequestState()
    identity = gateway.governance.keys.authenticate(KEY)
    state.principal = identity.principal
    state.access.append(identity.access)
    rule = HeaderFilter.from_scope({"headers": FILTER_HEADERS}, gateway.catalog.servers())
    assert rule is not None
    state.access.append(rule)
    return state


def timed(fn: Any, repeat: int) -> list[float]:
    """Milliseconds per call."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def serialize(listing: Any) -> bytes:
    return types.ListToolsResult(tools=listing.mcp_tools()).model_dump_json(by_alias=True, exclude_none=True).encode()


def measure_size(size: int) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    gateway = new_gateway()
    start = time.perf_counter()
    fill(gateway, size)
    fill_ms = (time.perf_counter() - start) * 1000
    gc.collect()
    memory = tracemalloc.get_traced_memory()[0] - base
    for entry in gateway.catalog.entries():  # every tool listed in both forms (built when first listed)
        entry.exposed, entry.openai  # noqa: B018
    gc.collect()
    memory_listed = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    state = request_state(gateway)
    per_server = size // SERVERS

    def change(generation: list[int] = [0]) -> None:  # noqa: B006 - a counter kept between calls
        generation[0] += 1
        gateway.catalog.update_server("srv07", tools_of(7, per_server, generation[0]))

    def full_rebuild() -> None:
        with gateway.catalog._lock:
            gateway.catalog._rebuild()  # every entry built again, as before

    change_ms = timed(change, 15)
    full_ms = timed(full_rebuild, 15)
    index_cpu, index_wall, index_full_cpu = index_update_ms(gateway, change)
    listing_for(gateway, state)
    first = []  # the first listing after an upstream's change: only that server's tools are checked again
    for _ in range(15):
        change()
        first += timed(lambda: listing_for(gateway, state), 1)
    cached = timed(lambda: listing_for(gateway, state), 200)
    uncached = timed(lambda: build_listing(gateway, state), 30)
    listing = listing_for(gateway, state)
    answer = timed(lambda: serialize(listing), 5)
    return {
        "tools": size,
        "servers": SERVERS,
        "listed_for_key": len(listing.direct),
        "catalog_fill_ms": round(fill_ms, 1),
        "catalog_memory_mb": round(memory / 2**20, 2),
        "catalog_memory_bytes_per_tool": round(memory / size),
        "catalog_memory_listed_mb": round(memory_listed / 2**20, 2),
        "one_server_change_ms_median": round(statistics.median(change_ms), 3),
        "full_rebuild_ms_median": round(statistics.median(full_ms), 3),
        "index_update_cpu_ms_median": round(statistics.median(index_cpu), 3),
        "index_update_wall_ms_median": round(statistics.median(index_wall), 3),
        "index_full_build_cpu_ms_median": round(statistics.median(index_full_cpu), 3),
        "listing_first_after_change_ms": round(statistics.median(first), 3),
        "listing_first_after_change_ms_max": round(max(first), 3),
        "listing_cached_ms_median": round(statistics.median(cached), 4),
        "listing_cached_ms_p99": round(sorted(cached)[int(len(cached) * 0.99) - 1], 4),
        "listing_uncached_ms_median": round(statistics.median(uncached), 3),
        "tools_list_answer_ms_median": round(statistics.median(answer), 2),
        "tools_list_answer_bytes": len(serialize(listing)),
    }


def index_update_ms(gateway: Gateway, change: Any) -> tuple[list[float], list[float], list[float]]:
    """The Code Mode index brought up to date after one upstream's change: CPU ms (its thread's, SQLite's
    included) and wall ms (with the pauses that let the event loop run), and CPU ms of a build from scratch
    (the first one; every one before the index was updated per server). Built here, not in the catalog
    listener's thread, so that the build's CPU time is this thread's."""
    service = gateway.code_mode_service
    gateway.catalog._listeners.remove(service._catalog_changed)
    try:
        service._build_index()
        cpu, wall, full = [], [], []
        for _ in range(10):
            change()
            start, start_cpu = time.perf_counter(), time.thread_time()
            service._build_index()
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
        for _ in range(3):
            service._index = None
            start_cpu = time.thread_time()
            service._build_index()
            full.append((time.thread_time() - start_cpu) * 1000)
    finally:
        gateway.catalog._listeners.append(service._catalog_changed)
        service._index = None  # the lag runs start without an index, as a gateway does
    return cpu, wall, full


async def _lag_run(
    gateway: Gateway, state: RequestState, size: int, changes: bool, *, index: bool = True, freeze: bool = False
) -> dict[str, float]:
    """The prober's lateness (ms) while another session lists tools and, with `changes`, every 100 ms an
    upstream changes."""
    lateness: list[float] = []
    on_loop: list[float] = []  # ms the event loop spends on each change (catalog rebuild + the next listing)
    stop = asyncio.Event()

    async def prober() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lateness.append((time.perf_counter() - start) * 1000 - 1)

    async def other_session() -> None:
        while not stop.is_set():
            listing_for(gateway, state)
            await asyncio.sleep(0.005)

    async def upstream() -> None:
        for generation in range(1, ROUNDS + 1):  # as long without changes as with them
            await asyncio.sleep(0.1)
            if changes:  # what the supervisor does after the upstream's list_changed and a refresh
                tools = tools_of(7, size // SERVERS, generation)
                start = time.perf_counter()
                gateway.catalog.update_server("srv07", tools)
                listing_for(gateway, state)  # the next listing of a session after the change
                on_loop.append((time.perf_counter() - start) * 1000)
            if freeze:  # what an opt-in could do: the heap as it is now is left out of later collections
                gc.freeze()
            if index:  # Code Mode discovery in use: its index is rebuilt in a thread after every change
                await gateway.code_mode_service.index()
        await asyncio.sleep(0.1)
        stop.set()

    collections: list[tuple[int, float]] = []  # (generation, ms) of every garbage collection in the run
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            collections.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(on_gc)
    try:
        tasks = [asyncio.create_task(t()) for t in (prober, other_session)]
        await upstream()
        await asyncio.gather(*tasks)
    finally:
        gc.callbacks.remove(on_gc)
    lateness.sort()
    full = [ms for generation, ms in collections if generation == 2]
    return {
        "max_ms": round(lateness[-1], 2),
        "p99_ms": round(lateness[int(len(lateness) * 0.99) - 1], 2),
        "over_5ms": sum(1 for x in lateness if x > 5),
        "samples": len(lateness),
        "change_on_loop_ms_median": round(statistics.median(on_loop), 3) if on_loop else 0.0,
        "change_on_loop_ms_max": round(max(on_loop), 3) if on_loop else 0.0,
        "collections": len(collections),
        "full_collections": len(full),
        "full_collection_ms_max": round(max(full), 1) if full else 0.0,
    }


def measure_lag(size: int) -> dict[str, Any]:
    gateway = new_gateway()
    fill(gateway, size)
    state = request_state(gateway)
    listing_for(gateway, state)  # the first listing makes every visible tool's listed form: not a change's work

    async def run() -> dict[str, Any]:
        without_index = await _lag_run(gateway, state, size, True, index=False)  # Code Mode discovery unused
        await gateway.code_mode_service.index()
        idle = await _lag_run(gateway, state, size, False)
        changing = await _lag_run(gateway, state, size, True)
        frozen = await _lag_run(gateway, state, size, True, freeze=True)
        gc.unfreeze()
        return {
            "tools": size,
            "changes": ROUNDS,
            "no_change": idle,
            "with_changes": changing,
            "with_changes_no_code_mode_index": without_index,
            "with_changes_gc_frozen": frozen,
        }

    return asyncio.run(run())


def profile(size: int) -> None:
    gateway = new_gateway()
    fill(gateway, size)
    state = request_state(gateway)
    profiler = cProfile.Profile()
    profiler.enable()
    for generation in range(1, 6):
        gateway.catalog.update_server("srv07", tools_of(7, size // SERVERS, generation))
        listing_for(gateway, state)
        for _ in range(20):
            listing_for(gateway, state)
        build_listing(gateway, state)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _full_gcs(run: dict[str, Any]) -> str:
    return f"{run.get('full_collections', '–')} ({run.get('full_collection_ms_max', '–')} ms)"


def markdown(result: dict[str, Any]) -> str:
    rows = [
        [
            r["tools"],
            r["catalog_memory_mb"],
            r.get("catalog_memory_listed_mb", "–"),
            r["catalog_memory_bytes_per_tool"],
            r["one_server_change_ms_median"],
            r["full_rebuild_ms_median"],
            f"{r['full_rebuild_ms_median'] / r['one_server_change_ms_median']:.1f}×",
            r.get("index_update_cpu_ms_median", "–"),
            r.get("index_update_wall_ms_median", "–"),
            r.get("index_full_build_cpu_ms_median", "–"),
            r["listing_first_after_change_ms"],
            r["listing_cached_ms_median"],
            r["listing_uncached_ms_median"],
            f"{r['listing_uncached_ms_median'] / r['listing_cached_ms_median']:.0f}×",
            r["tools_list_answer_ms_median"],
        ]
        for r in result["sizes"]
    ]
    table = markdown_table(
        [
            "tools",
            "catalog MB",
            "catalog MB, every tool listed",
            "B/tool",
            "one upstream's change ms",
            "full rebuild ms (before)",
            "ratio",
            "Code Mode index after the change: CPU ms",
            "wall ms",
            "index from scratch: CPU ms",
            "first listing after a change ms (median)",
            "listing ms (cached)",
            "listing ms (uncached, before)",
            "ratio",
            "tools/list answer serialized ms",
        ],
        rows,
    )
    lag_rows = [
        [
            r["tools"],
            r["with_changes"]["change_on_loop_ms_median"],
            r["with_changes"]["change_on_loop_ms_max"],
            r["no_change"]["max_ms"],
            r["no_change"]["over_5ms"],
            r["with_changes"]["max_ms"],
            r["with_changes"]["p99_ms"],
            r["with_changes"]["over_5ms"],
            r["with_changes"]["samples"],
            _full_gcs(r["with_changes"]),
            r["with_changes_no_code_mode_index"]["change_on_loop_ms_median"],
            r["with_changes_no_code_mode_index"]["max_ms"],
            r["with_changes_no_code_mode_index"]["over_5ms"],
            r.get("with_changes_gc_frozen", {}).get("max_ms", "–"),
            r.get("with_changes_gc_frozen", {}).get("over_5ms", "–"),
            _full_gcs(r.get("with_changes_gc_frozen", {})),
        ]
        for r in result["lag"]
    ]
    lag = markdown_table(
        [
            "tools",
            "a change on the loop, median ms",
            "max ms",
            "prober max late ms, no change",
            "wakeups > 5 ms, no change",
            "max late ms, 20 changes",
            "p99 ms",
            "wakeups > 5 ms",
            "samples",
            "full GCs (longest)",
            "no Code Mode index: change on the loop, median ms",
            "max late ms",
            "wakeups > 5 ms",
            "gc.freeze() after each change: max late ms",
            "wakeups > 5 ms",
            "full GCs (longest)",
        ],
        lag_rows,
    )
    label = result["label"]
    return f"# Catalog scale\n\n{label['date']}, {label['machine']}\n\n{table}\n{lag}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 tools only")
    parser.add_argument("--profile", action="store_true", help="cProfile the 10,000-tool case and stop")
    parser.add_argument("--size", type=int, choices=SIZES, help="this size only (results not written)")
    args = parser.parse_args()
    if args.profile:
        profile(10_000)
        return
    sizes = (args.size,) if args.size else SIZES[:2] if args.quick else SIZES
    result: dict[str, Any] = {"label": run_label(), "sizes": [], "lag": []}
    for size in sizes:
        result["sizes"].append(measure_size(size))
        print(result["sizes"][-1], flush=True)
    for size in sizes:
        result["lag"].append(measure_lag(size))
        print(result["lag"][-1], flush=True)
    text = markdown(result)
    print(text)
    if not args.quick and not args.size:
        write_result("catalog_scale", result, text)


if __name__ == "__main__":
    main()
