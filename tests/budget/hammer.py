"""One OS process hammering a shared SQLite ledger; run by test_concurrency.py, not collected by pytest.

usage: python hammer.py DB_PATH NOW ATTEMPTS

Opens the file, prints "ready" and waits for a line on stdin, so that every process starts at once; then
makes ATTEMPTS reservations from concurrent tasks, commits each one admitted, and prints how many were.
"""

import sys

import anyio

from mcp_guard.budget import Charge, PeriodRule, TierExceeded
from mcp_guard.budget.storage.sqlite import SqliteLedger

MONTHLY = PeriodRule("1M")
# limits in micro-units: customer $5, team $1, key $2; at $0.02 a call the team admits 50
CHARGES = [
    Charge("customer:acme", 5_000_000, MONTHLY),
    Charge("team:engineering", 1_000_000, MONTHLY),
    Charge("key:k1", 2_000_000, MONTHLY),
]
COST = 20_000


async def attempt(ledger, now, results):
    try:
        reservation = await ledger.reserve(CHARGES, COST, now)
    except TierExceeded:
        results.append(False)
        return
    results.append(await ledger.commit(reservation, COST, now))


async def main(path, now, attempts):
    ledger = SqliteLedger(path)
    await ledger.spent("team:engineering", now)
    print("ready", flush=True)
    sys.stdin.readline()
    results = []
    async with anyio.create_task_group() as group:
        for _ in range(attempts):
            group.start_soon(attempt, ledger, now, results)
    await ledger.aclose()
    print(sum(results), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
