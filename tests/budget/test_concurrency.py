"""The budget's promise under load: concurrent calls never overspend any tier."""

import select
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from mcp_guard.auth.principal import Principal
from mcp_guard.budget import BudgetGuard
from mcp_guard.errors import BudgetExceeded

from .conftest import T0, make_ledger, tier
from .test_guard import PRICING, make_call

pytestmark = pytest.mark.anyio

CALLS = 200
HAMMER = Path(__file__).with_name("hammer.py")
PROCESSES = 4


def principal_with(binding):
    """Tiers where `binding` allows $1.00 (50 calls at $0.02) and the others more."""
    limits = {"customer": 5.0, "team": 3.0, "key": 2.0} | {binding: 1.0}
    budgets = tuple(tier(kind, f"{kind}-1", limits[kind]) for kind in ("customer", "team", "key"))
    return Principal("key-1", "load", team="team-1", customer="customer-1", budgets=budgets)


async def one_call(guard, principal, outcomes, succeeded=True):
    call = make_call(principal=principal)
    try:
        token = await guard.admit(call)
    except BudgetExceeded:
        outcomes.append("refused")
        return
    await anyio.lowlevel.checkpoint()  # let the other calls run while this one is "upstream"
    await guard.settle(call, token, succeeded)
    outcomes.append("admitted")


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
@pytest.mark.parametrize("binding", ["customer", "team", "key"])
async def test_200_concurrent_calls_admit_exactly_what_the_budget_allows(backend, binding, new_ledger, clock):
    principal = principal_with(binding)
    guard = BudgetGuard(new_ledger(backend), PRICING, clock=clock)
    outcomes = []
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for _ in range(CALLS):
                group.start_soon(one_call, guard, principal, outcomes)
    assert outcomes.count("admitted") == 50 and outcomes.count("refused") == 150
    for row in await guard.status(principal.budgets):
        assert row["spent"] == 1.0 and row["spent"] <= row["limit"] and row["reserved"] == 0.0


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_refunds_under_load_never_overspend(backend, new_ledger, clock):
    principal = principal_with("team")
    guard = BudgetGuard(new_ledger(backend), PRICING, clock=clock)
    outcomes = []
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for index in range(CALLS):
                group.start_soon(one_call, guard, principal, outcomes, index % 3 != 0)
    assert 50 <= outcomes.count("admitted") < CALLS
    rows = await guard.status(principal.budgets)
    assert max(row["spent"] for row in rows) <= 1.0 and all(row["reserved"] == 0.0 for row in rows)


def test_four_processes_on_one_sqlite_file_admit_exactly_the_limit(tmp_path):
    path = tmp_path / "budget.db"
    command = [sys.executable, str(HAMMER), str(path), str(T0), str(CALLS // 2)]
    workers = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert select.select([worker.stdout], [], [], 30)[0], "a worker did not get ready in 30 s"
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert [worker.returncode for worker in workers] == [0] * PROCESSES, [err for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == 50
    ledger = make_ledger("sqlite", tmp_path)
    try:
        usage = anyio.run(ledger.spent, "team:engineering", T0)
        assert (usage.spent, usage.reserved) == (1_000_000, 0)
    finally:
        anyio.run(ledger.aclose)
