"""What delays the event loop during catalog changes: each late wakeup of a 1 ms prober, and what ran then.

`catalog_scale.py` counts late wakeups; this tells them apart. The same loop (another session listing, one
upstream's change every 100 ms, the Code Mode index in use), with a timestamped log of what ran: the change
on the loop (catalog rebuild + the next listing), the Code Mode index build in its thread (from start to end,
and each slice between two of its pauses) and every garbage collection (`gc.callbacks`). Each wakeup later
than `--late` ms is put down to the first of these it overlaps: the change, a collection, an index build, or
nothing (the machine); the same is counted for rounds without changes.

    .venv/bin/python bench/catalog_trace.py [--size 10000] [--rounds 3] [--late 5] [--verbose]

To compare with another tree, run a copy of this script and of `catalog_scale.py` in that tree's `bench/`
(`git archive main src bench | tar -x -C DIR`): both put their own tree's `src` first on the path.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", type=int, default=10_000)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--late", type=float, default=5.0, help="ms: wakeups later than this are explained")
parser.add_argument("--verbose", action="store_true", help="print every late wakeup and what it overlaps")
ARGS = parser.parse_args()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog_scale  # noqa: E402  (it puts this tree's src first on the path)

from mcp_guard import code_mode  # noqa: E402
from mcp_guard.listing import listing_for  # noqa: E402

Event = tuple[float, float, str]  # start, end (perf_counter seconds), what
events: list[Event] = []
_slice_start: dict[int, float] = {}  # per thread: when its current slice of index work began
_pauses: Counter[int] = Counter()  # per thread: pauses in its current build (the first is before the lock)


def _traced_pause(pause: Any = code_mode._let_the_loop_run) -> None:
    now = time.perf_counter()
    start = _slice_start.get(threading.get_ident())
    if start is not None:
        events.append((start, now, "index slice"))
    pause()
    _pauses[threading.get_ident()] += 1
    _slice_start[threading.get_ident()] = time.perf_counter()


def _traced_build(self: Any, build: Any = code_mode.CodeModeService._build_index) -> Any:
    start = time.perf_counter()
    try:
        return build(self)
    finally:
        end = time.perf_counter()
        events.append((start, end, "index build"))
        slice_start = _slice_start.pop(threading.get_ident(), None)
        if _pauses.pop(threading.get_ident(), 0) > 1 and slice_start is not None:  # not a thread that only waited
            events.append((slice_start, end, "index slice"))


code_mode._let_the_loop_run = _traced_pause  # type: ignore[assignment]
code_mode.CodeModeService._build_index = _traced_build  # type: ignore[method-assign]
_gc_start = [0.0]


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    else:
        events.append((_gc_start[0], time.perf_counter(), f"gc{info['generation']}"))


async def _round(gateway: Any, state: Any, size: int, changes: bool, generation: int) -> list[Event]:
    wakeups: list[Event] = []
    stop = asyncio.Event()

    async def prober() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            end = time.perf_counter()
            wakeups.append((start, end, f"{(end - start) * 1000 - 1:.2f}"))

    async def other_session() -> None:
        while not stop.is_set():
            listing_for(gateway, state)
            await asyncio.sleep(0.005)

    async def upstream() -> None:
        for n in range(catalog_scale.ROUNDS):
            await asyncio.sleep(0.1)
            if changes:
                start = time.perf_counter()  # the upstream's tools parsed, as its supervisor does
                tools = catalog_scale.tools_of(7, size // catalog_scale.SERVERS, generation * 100 + n)
                gateway.catalog.update_server("srv07", tools)
                listing_for(gateway, state)
                events.append((start, time.perf_counter(), "change"))
            await gateway.code_mode_service.index()
        await asyncio.sleep(0.1)
        stop.set()

    tasks = [asyncio.create_task(t()) for t in (prober, other_session)]
    await upstream()
    await asyncio.gather(*tasks)
    return wakeups


def _cause(start: float, end: float) -> tuple[str, list[str]]:
    overlapping = [(a, b, what) for a, b, what in events if a < end and b > start]
    shown = [f"{what} +{(max(a, start) - start) * 1000:.1f} ms, {(b - a) * 1000:.2f} ms" for a, b, what in overlapping]
    kinds = {what for _, _, what in overlapping}
    for kind in ("change", "gc2", "gc1", "gc0", "index slice", "index build"):
        if kind in kinds:
            return kind.replace("index slice", "index build"), shown
    return "nothing", shown


def main() -> None:
    gateway = catalog_scale.new_gateway()
    catalog_scale.fill(gateway, ARGS.size)
    state = catalog_scale.request_state(gateway)
    listing_for(gateway, state)
    summary: dict[str, Counter[str]] = {"no change": Counter(), "changes": Counter()}
    worst: dict[str, list[float]] = {"no change": [], "changes": []}

    async def run() -> None:
        await gateway.code_mode_service.index()
        gc.callbacks.append(_on_gc)
        try:
            for n in range(ARGS.rounds):
                for label, changes in (("no change", False), ("changes", True)):
                    events.clear()
                    wakeups = await _round(gateway, state, ARGS.size, changes, n)
                    worst[label].append(max(float(w[2]) for w in wakeups))
                    for start, end, late in wakeups:
                        if float(late) > ARGS.late:
                            cause, shown = _cause(start, end)
                            summary[label][cause] += 1
                            if ARGS.verbose:
                                print(f"{label}: late {late} ms, put down to {cause}: {shown}")
                    if changes:
                        _report_work(n)
        finally:
            gc.callbacks.remove(_on_gc)

    asyncio.run(run())
    for label in summary:
        causes = ", ".join(f"{cause} {count}" for cause, count in summary[label].most_common()) or "none"
        late = f"wakeups > {ARGS.late} ms over {ARGS.rounds} rounds"
        print(f"{label}: {late}: {causes}; worst {max(worst[label]):.2f} ms")


def _report_work(n: int) -> None:
    def ms(kind: str) -> list[float]:
        return [(b - a) * 1000 for a, b, what in events if what == kind]

    changes, builds, slices = ms("change"), ms("index build"), ms("index slice")
    collections = Counter(what for _, _, what in events if what.startswith("gc"))
    print(
        f"round {n + 1}: change on the loop (tools parsed + rebuild + listing) median {statistics.median(changes):.2f} "
        f"max {max(changes):.2f} ms; index builds median {statistics.median(builds):.1f} ms; "
        f"slices {len(slices)}, max {max(slices, default=0):.2f} ms; collections {dict(collections)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
