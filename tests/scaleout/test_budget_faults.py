"""The budget guard when its storage is unreachable: fail closed (503) or open, and nothing left unbooked."""

from __future__ import annotations

import logging

import pytest

from mcp_guard.budget import BudgetGuard, LedgerError
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.errors import ServiceUnavailable
from tests.budget.test_guard import BUDGETS, PRICING, make_call

pytestmark = pytest.mark.anyio

T0 = 1_710_417_600.0


class FlakyLedger(MemoryLedger):
    """A memory ledger whose storage can be switched off, as a Redis behind a cut network."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise LedgerError("budget storage 'redis://127.0.0.1:6379/0' failed: ConnectionError: refused")

    async def reserve(self, charges, amount, now, *, reservation=None):
        self._check()
        return await super().reserve(charges, amount, now, reservation=reservation)

    async def commit(self, reservation, amount, now):
        self._check()
        return await super().commit(reservation, amount, now)

    async def release(self, reservation):
        self._check()
        return await super().release(reservation)


def guard_on(ledger, **options):
    return BudgetGuard(ledger, PRICING, clock=lambda: T0, name="Budget storage 'redis://test'", **options)


async def test_fail_closed_refuses_with_503_and_logs_once(caplog):
    ledger = FlakyLedger()
    guard = guard_on(ledger)
    ledger.down = True
    with caplog.at_level(logging.WARNING, logger="mcp_guard.budget.guard"):
        for _ in range(3):
            with pytest.raises(ServiceUnavailable, match="Budget storage is unavailable"):
                await guard.admit(make_call())
        ledger.down = False
        await guard.settle(call := make_call(), await guard.admit(call), True)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("Budget storage 'redis://test' is unreachable (LedgerError: ")
    assert messages[0].endswith("refusing priced calls with 503 (budgets.fail_open is false)")
    assert messages[1] == "Budget storage 'redis://test' is reachable again after 0.0 s (3 calls affected)"


async def test_fail_open_admits_unbudgeted_and_audits_the_cost():
    ledger = FlakyLedger()
    guard = guard_on(ledger, fail_open=True)
    ledger.down = True
    call = make_call()
    assert await guard.admit(call) is None and call.cost == 0.02
    ledger.down = False
    assert [row["spent"] for row in await guard.status(BUDGETS)] == [0.0] * 3


async def test_settlements_that_fail_are_sent_before_the_next_reservation():
    ledger = FlakyLedger()
    guard = guard_on(ledger)
    admitted = [(call, await guard.admit(call)) for call in (make_call(), make_call(), make_call())]
    ledger.down = True
    for index, (call, token) in enumerate(admitted):
        await guard.settle(call, token, succeeded=index != 1)  # the second one failed: refunded
    assert len(guard.pending) == 3
    ledger.down = False
    await guard.settle(call := make_call(), await guard.admit(call), True)
    assert len(guard.pending) == 0
    rows = await guard.status(BUDGETS)
    assert [row["spent"] for row in rows] == [pytest.approx(0.06)] * 3  # 2 held back + 1 new
    assert [row["reserved"] for row in rows] == [0.0] * 3
