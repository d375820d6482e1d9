"""What only the Redis ledger does (the shared contract runs in tests/budget against it too)."""

from __future__ import annotations

import sys

import pytest
import redis

from mcp_guard.budget import LedgerError, open_ledger
from mcp_guard.budget.ledger import Charge
from mcp_guard.budget.periods import PeriodRule, Window
from mcp_guard.budget.storage.redis import RedisLedger
from mcp_guard.errors import ConfigError

from .services import REDIS_URL, require, unique

pytestmark = pytest.mark.anyio

T0 = 1_710_417_600.123456789  # a float that 14 digits would round
KEY = "key:k1"


@pytest.fixture
async def ledger():
    require(REDIS_URL)
    storage = RedisLedger.from_url(f"{REDIS_URL}?prefix={unique('ledger')}", reservation_ttl=60)
    yield storage
    await storage.client.delete(*storage.keys)
    await storage.aclose()


def test_the_url_picks_redis_and_its_prefix():
    ledger = open_ledger("redis://:hunter2@127.0.0.1:6379/3?prefix=team-a")
    assert isinstance(ledger, RedisLedger) and ledger.prefix == "team-a"
    assert ledger.keys == ["{team-a}:counters", "{team-a}:reserved", "{team-a}:holds", "{team-a}:expiry"]
    assert ledger.name == "redis://127.0.0.1:6379/3"  # no password, no options


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0?prefix=", "redis:///0"])
def test_a_url_without_host_or_prefix_is_refused(url):
    with pytest.raises(ConfigError, match="needs a host and a non-empty prefix"):
        open_ledger(url)


def test_a_missing_driver_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name == "redis" or name.startswith("redis.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the driver were not installed
    monkeypatch.delitem(sys.modules, "mcp_guard.budget.storage.redis", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'mcp-guard\[redis\]'"):
        open_ledger("redis://127.0.0.1:6379/0")


async def test_windows_and_amounts_survive_the_round_trip_exactly(ledger):
    daily = [Charge(KEY, 2**52, PeriodRule("1d"))]
    await ledger.commit(await ledger.reserve(daily, 2**52 - 1, T0), 2**52 - 1, T0)
    usage = await ledger.spent(KEY, T0 + 1)
    assert usage.window == Window(T0, T0 + 86400) and usage.spent == 2**52 - 1


async def test_all_state_lives_in_four_keys_under_one_hash_tag(ledger):
    charges = [Charge("team:a", 100, PeriodRule("1M")), Charge(KEY, 100, PeriodRule("1h", calendar=True))]
    await ledger.reserve(charges, 10, T0)
    stored = {key.decode() for key in await ledger.client.keys(f"{{{ledger.prefix}}}*")}
    assert stored == set(ledger.keys)


async def test_a_reservation_sent_twice_is_held_once(ledger):
    charges = [Charge(KEY, 100, PeriodRule("1d"))]
    reservation = await ledger.reserve(charges, 30, T0)
    window = PeriodRule("1d").fresh(T0)
    args = [repr(T0), repr(T0 + 60), reservation, "30", KEY, "100", "1d", "0", repr(window.start), repr(window.end)]
    await ledger._reserve(keys=ledger.keys, args=args)  # what a client retry after a lost reply does
    assert (await ledger.spent(KEY, T0)).reserved == 30
    assert await ledger.commit(reservation, 30, T0) and not await ledger.commit(reservation, 30, T0)
    assert (await ledger.spent(KEY, T0)).spent == 30


async def test_holds_expire_on_the_gateway_clock_not_on_redis_time(ledger):
    charges = [Charge(KEY, 100, PeriodRule("1d"))]
    await ledger.reserve(charges, 100, T0)
    assert (await ledger.spent(KEY, T0 + 59)).reserved == 100
    assert (await ledger.spent(KEY, T0 + 60)).reserved == 0
    assert await ledger.client.hlen(ledger.keys[2]) == 0  # the hold itself is gone, not only uncounted


async def test_an_unreachable_redis_is_a_ledger_error_without_the_password():
    ledger = RedisLedger.from_url("redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(LedgerError) as failed:
        await ledger.reserve([Charge(KEY, 100, PeriodRule("1d"))], 1, T0)
    assert "redis://127.0.0.1:1/0" in str(failed.value) and "hunter2" not in str(failed.value)
    assert isinstance(failed.value.__cause__, redis.exceptions.ConnectionError)
    await ledger.aclose()
