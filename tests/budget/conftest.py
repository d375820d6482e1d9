"""Fixtures for the budget tests: a fake clock and one ledger per storage backend.

The Redis backend uses the machine's Redis (`MCP_GUARD_TEST_REDIS_URL`, default 127.0.0.1:6379/0) under a
prefix of its own per ledger, deleted afterwards, so parallel runs never share a counter.
"""

import os
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from mcp_guard.budget import BudgetConfig, Charge, PeriodRule, TierBudget
from mcp_guard.budget.ledger import to_micros
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.budget.storage.redis import RedisLedger
from mcp_guard.budget.storage.sqlite import SqliteLedger
from tests.support.clock import ManualClock
from tests.support.processes import port_is_open

BACKENDS = ["memory", "sqlite", "redis"]
REDIS_URL = os.environ.get("MCP_GUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TTL = 600.0


def utc(*fields):
    """Epoch seconds of a UTC date and time."""
    return datetime(*fields, tzinfo=UTC).timestamp()


T0 = utc(2024, 3, 14, 12, 0, 0)


def make_ledger(kind, tmp_path, ttl=TTL):
    if kind == "memory":
        return MemoryLedger(reservation_ttl=ttl)
    if kind == "redis":
        parts = urlsplit(REDIS_URL)
        if not port_is_open(parts.port or 6379, parts.hostname or "127.0.0.1"):
            pytest.skip(f"needs Redis at {parts.hostname}:{parts.port}")
        return RedisLedger.from_url(f"{REDIS_URL}?prefix=mcpg-test:{uuid.uuid4().hex}", reservation_ttl=ttl)
    return SqliteLedger(tmp_path / "budget.db", reservation_ttl=ttl)


async def close_ledger(ledger):
    """Close a ledger, deleting what a Redis one wrote."""
    if isinstance(ledger, RedisLedger):
        await ledger.client.delete(*ledger.keys)
    await ledger.aclose()


def charge(key, limit, period="1M", calendar=False):
    """A charge with its limit in currency units."""
    return Charge(key, to_micros(limit), PeriodRule(period, calendar))


def tier(kind, name, limit, period="1M", calendar=False):
    return TierBudget(kind, name, BudgetConfig(limit=limit, period=period, calendar=calendar))


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture(params=BACKENDS)
async def ledger(request, tmp_path):
    storage = make_ledger(request.param, tmp_path)
    yield storage
    await close_ledger(storage)


@pytest.fixture
async def new_ledger(tmp_path):
    """Make ledgers of a given kind; each is closed (and a Redis one emptied) after the test, failed or not."""
    made = []

    def make(kind):
        made.append(make_ledger(kind, tmp_path))
        return made[-1]

    yield make
    for storage in made:
        await close_ledger(storage)
