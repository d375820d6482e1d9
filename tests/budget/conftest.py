"""Fixtures for the budget tests: a fake clock and one ledger per storage backend."""

from datetime import UTC, datetime

import pytest

from mcp_guard.budget import BudgetConfig, Charge, PeriodRule, TierBudget
from mcp_guard.budget.ledger import to_micros
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.budget.storage.sqlite import SqliteLedger

BACKENDS = ["memory", "sqlite"]
TTL = 600.0


def utc(*fields):
    """Epoch seconds of a UTC date and time."""
    return datetime(*fields, tzinfo=UTC).timestamp()


T0 = utc(2024, 3, 14, 12, 0, 0)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def make_ledger(kind, tmp_path, ttl=TTL):
    if kind == "memory":
        return MemoryLedger(reservation_ttl=ttl)
    return SqliteLedger(tmp_path / "budget.db", reservation_ttl=ttl)


def charge(key, limit, period="1M", calendar=False):
    """A charge with its limit in currency units."""
    return Charge(key, to_micros(limit), PeriodRule(period, calendar))


def tier(kind, name, limit, period="1M", calendar=False):
    return TierBudget(kind, name, BudgetConfig(limit=limit, period=period, calendar=calendar))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=BACKENDS)
async def ledger(request, tmp_path):
    storage = make_ledger(request.param, tmp_path)
    yield storage
    await storage.aclose()
