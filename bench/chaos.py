"""Upstreams restarted and killed under load, at length (`tests/support/chaos.py`, the chaos test's world):
how long each kind of failure is visible to callers, against what the servers themselves take to start,
measured in the same run.

- `web` (npm server-everything, streamable HTTP with sessions) is restarted on its port `--restarts` times:
  time from listening again to the first call served through the gateway.
- `helper` (a stdio server with a helper grandchild) and `npx` (server-everything through npx) are killed
  `--kills` times each: time until the gateway shows them not connected, and until a call is served again,
  next to the server's own start time (server-everything over stdio alone, timed directly in this run).
- Afterwards: failed calls per upstream (the untouched `time` upstream should have none), process groups
  left alive after the gateway's stop, and audit records against completed calls.

    .venv/bin/python bench/chaos.py [--kills 20] [--restarts 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import markdown_report, markdown_table, run_label, text_table, write_result  # noqa: E402
from tests.integration.test_chaos import server_start_time  # noqa: E402
from tests.support.chaos import TOOLS, ChaosRun  # noqa: E402


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} / {max(values):.2f}" if values else "–"


def measure(kills: int, restarts: int) -> dict[str, Any]:
    starts = [server_start_time() for _ in range(3)]
    with tempfile.TemporaryDirectory() as directory:
        run = ChaosRun(Path(directory))
        web_listen, web_served = [], []
        windows: dict[str, list[tuple[float, float]]] = {"helper": [], "npx": []}
        with run.running():
            assert run.web is not None
            for _ in range(restarts):
                time.sleep(1.0)
                down = time.monotonic()
                run.web.stop()
                run.web.start()
                listening = time.monotonic()
                web_listen.append(listening - down)
                web_served.append(run.first_ok_after("web", listening) - listening)
            for _ in range(kills):
                for upstream, window in run.kill_and_time(list(windows)).items():
                    windows[upstream].append(window)
                time.sleep(0.3)
        deadline = time.monotonic() + 5
        while run.left_behind() and time.monotonic() < deadline:
            time.sleep(0.1)
        with closing(sqlite3.connect(run.audit_db)) as db:
            (records,) = db.execute("SELECT COUNT(*) FROM audit_log WHERE entry = 'rest'").fetchone()
        completed = sum(1 for c in run.calls if c.status)
        return {
            "server_start_s": [round(s, 3) for s in starts],
            "web_restart_to_listening_s": [round(s, 3) for s in web_listen],
            "web_listening_to_served_s": [round(s, 3) for s in web_served],
            "stdio": {u: [[round(a, 3), round(b, 3)] for a, b in w] for u, w in windows.items()},
            "calls": {u: sum(1 for c in run.calls if c.upstream == u) for u in TOOLS},
            "failed": {u: len(run.failures(u)) for u in TOOLS},
            "groups_started": len(run.groups),
            "groups_left_alive": len(run.left_behind()),
            "audit_records": records,
            "completed_calls": completed,
        }


def report(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    start = statistics.median(result["server_start_s"])
    rows: list[list[Any]] = [
        ["web: restart → listening (the server alone)", spread(result["web_restart_to_listening_s"]), ""],
        ["web: listening → first call served via gateway", spread(result["web_listening_to_served_s"]), "goal ≤ 1 s"],
        ["server-everything over stdio alone: start → answering", spread(result["server_start_s"]), "baseline"],
    ]
    for upstream, windows in result["stdio"].items():
        noticed = [w[0] for w in windows]
        served = [w[1] for w in windows]
        rows.append([f"{upstream}: kill → state not connected", spread(noticed), "goal ≤ 0.5 s"])
        extra = [s - start for s in served]
        rows.append([f"{upstream}: kill → first call served", spread(served), f"minus start: {spread(extra)}"])
    headers = ["window (median / max, s)", "measured", "note"]
    return headers, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="kills of each stdio upstream")
    parser.add_argument("--restarts", type=int, default=5, help="restarts of the HTTP upstream")
    args = parser.parse_args()
    result = measure(args.kills, args.restarts)
    headers, rows = report(result)
    label = run_label()
    totals = (
        f"calls {result['calls']}, failed {result['failed']}; process groups started {result['groups_started']}, "
        f"left alive after the stop {result['groups_left_alive']}; audit records {result['audit_records']} for "
        f"{result['completed_calls']} completed calls\n"
    )
    print(text_table(headers, rows))
    print(totals)
    body = markdown_table(headers, rows) + "\n" + totals
    write_result("chaos", {**label, **result}, markdown_report("Chaos: restarts and kills under load", label, body))


if __name__ == "__main__":
    main()
