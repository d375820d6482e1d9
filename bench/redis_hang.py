"""A Redis that hangs behind the rate limiter and the budget ledger: latency added per call, with the circuit
breaker and without it (the same gateway with the breakers never opening: what every call paid before), in
both fail modes, in one run. Redis is a throwaway `redis-server` on a free port, paused with SIGSTOP.

Per configuration: calls through the REST endpoint (governance on: key, rate-limit rule, priced call
reserved and settled, audit) from 4 workers, each pausing 5 ms between calls; 3 s with Redis up (the
baseline), `--hang` seconds paused, 3 s after it resumes. Reported: p50/p99/max while up, while hung (all
calls that started while it was paused, and those after the breakers opened), and how long after SIGCONT
Redis was used again.

    .venv/bin/python bench/redis_hang.py [--hang 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from tests.integration.gateway_fixtures import http_client  # noqa: E402
from tests.scaleout.test_redis_hang import gateway_on, own_redis  # noqa: E402

from mcp_guard.auth.keys import generate_key  # noqa: E402
from mcp_guard.server import standalone_app  # noqa: E402

WORKERS = 4
PACE = 0.005
UP = 3.0
AFTER = 3.0
BODY = {"id": "1", "type": "function", "function": {"name": "calc__add", "arguments": {"a": 1, "b": 2}}}


async def scenario(fail_open: bool, breaker: bool, hang: float) -> dict[str, Any]:
    key = generate_key()
    calls: list[tuple[float, float, int]] = []
    async with own_redis() as redis, gateway_on(redis_url(redis.port), key, "rate+budget", fail_open) as gw:
        governance = gw.governance
        breakers = [governance.rate_limiter._breaker, governance.budget.ledger._breaker]  # type: ignore[attr-defined]
        if not breaker:  # what every call paid before: the store is asked, and waited for, every time
            for b in breakers:
                b.stall, b.trip_after = float("inf"), 10**9
        async with http_client(standalone_app(gw), headers={"authorization": f"Bearer {key}"}) as http:

            async def load(until: float) -> None:
                while time.monotonic() < until:
                    started = time.monotonic()
                    response = await http.post("/mcp/tool/execute", json=BODY)
                    calls.append((started, time.monotonic() - started, response.status_code))
                    await anyio.sleep(PACE)

            async def phase(seconds: float) -> None:
                async with anyio.create_task_group() as group:
                    for _ in range(WORKERS):
                        group.start_soon(load, time.monotonic() + seconds)

            await phase(UP)
            os.kill(redis.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            try:
                await phase(hang)
                opened = [b.opened for b in breakers]
            finally:
                os.kill(redis.pid, signal.SIGCONT)
            resumed = time.monotonic()
            async with anyio.create_task_group() as group:
                group.start_soon(phase, AFTER)
                while any(b.open for b in breakers) and time.monotonic() < resumed + AFTER:
                    await anyio.sleep(0.005)
                recovered = time.monotonic() - resumed
    hung = [c for c in calls if stopped <= c[0] < resumed]
    open_since = max((t for t in opened if t is not None), default=resumed)
    return {
        "fail_open": fail_open,
        "breaker": breaker,
        "up": stats([c for c in calls if c[0] < stopped]),
        "hung": stats(hung),
        "hung_after_open": stats([c for c in hung if c[0] >= open_since]) if breaker else None,
        "opened_after_s": round(open_since - stopped, 2) if breaker and opened[0] is not None else None,
        "recovered_s": round(recovered, 3) if breaker else None,
        "after": stats([c for c in calls if c[0] >= resumed + 1.0]),
    }


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def stats(calls: list[tuple[float, float, int]]) -> dict[str, Any]:
    seconds = sorted(c[1] for c in calls)
    if len(seconds) < 2:
        return {"calls": len(seconds)}
    q = statistics.quantiles(seconds, n=100, method="inclusive")
    statuses: dict[int, int] = {}
    for _, _, status in calls:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "calls": len(seconds),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(seconds[-1] * 1000, 1),
        "statuses": statuses,
    }


def rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    def cell(part: dict[str, Any] | None) -> str:
        if not part or "p50_ms" not in part:
            return "–"
        return f"{part['p50_ms']} / {part['p99_ms']} / {part['max_ms']} ({part['calls']})"

    return [
        [
            "open" if r["fail_open"] else "closed",
            "on" if r["breaker"] else "off",
            cell(r["up"]),
            cell(r["hung"]),
            cell(r["hung_after_open"]),
            "–" if r["opened_after_s"] is None else f"{r['opened_after_s']} s",
            "–" if r["recovered_s"] is None else f"{r['recovered_s']} s",
            ", ".join(f"{k}: {v}" for k, v in sorted(r["hung"].get("statuses", {}).items())),
        ]
        for r in results
    ]


HEADERS = [
    "fail mode",
    "breaker",
    "Redis up: p50 / p99 / max ms (calls)",
    "Redis hung: all calls",
    "hung, breakers open",
    "opened after",
    "used again after SIGCONT",
    "statuses while hung",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hang", type=float, default=10.0, help="seconds Redis stays paused")
    args = parser.parse_args()
    results = []
    for fail_open in (False, True):
        for breaker in (True, False):
            results.append(anyio.run(scenario, fail_open, breaker, args.hang))
            print(text_table(HEADERS, rows(results[-1:])), flush=True)
    label = run_label()
    print(text_table(HEADERS, rows(results)))
    body = markdown_table(HEADERS, rows(results))
    report = markdown_report("Redis hang", label, body)
    write_result("redis_hang", {**label, "hang_s": args.hang, "results": results}, report)


if __name__ == "__main__":
    main()
