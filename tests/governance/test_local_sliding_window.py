"""`LocalSlidingWindow` decides exactly as `limits`' own sliding-window counter on its memory storage."""

from __future__ import annotations

import random
import types

import pytest
from limits.aio import strategies
from limits.aio.storage import MemoryStorage, memory
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from mcp_guard.ratelimit.local import LocalSlidingWindow
from mcp_guard.ratelimit.rate import parse_rate
from tests.support.clock import ManualClock

pytestmark = pytest.mark.anyio
T0 = 1_700_000_000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """One fake time for both implementations (`limits` reads `time.time()` in two modules)."""
    fake = ManualClock(T0)
    for module in (memory, strategies):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(time=fake))
    return fake


@pytest.mark.parametrize("limit", ["10/minute", "3/second", "20/hour"])
@pytest.mark.parametrize("seed", range(3))
async def test_same_decisions_and_window_stats_as_limits(clock: ManualClock, limit: str, seed: int) -> None:
    rng = random.Random(seed)
    rate = parse_rate(limit)
    item = rate.item()
    ours, theirs = LocalSlidingWindow(clock), SlidingWindowCounterRateLimiter(MemoryStorage())
    admitted = 0
    for _ in range(600):
        # bursts and gaps: several hits in one window, then jumps across one or more windows
        clock.now += rng.choice([0.0, 0.01, 0.3, 1.7]) * item.get_expiry() / rng.choice([1, 4, 40])
        who, cost = rng.choice(["a", "b"]), rng.choice([1, 1, 1, 2, 5])
        decision = await ours.hit(rate, "ns", who, cost=cost)
        assert decision == await theirs.hit(item, "ns", who, cost=cost), (clock.now - T0, who, cost)
        admitted += decision
        stats = await ours.get_window_stats(rate, "ns", who)
        expected = await theirs.get_window_stats(item, "ns", who)
        assert stats.remaining == expected.remaining
        assert stats.reset_time == pytest.approx(expected.reset_time)
    assert 0 < admitted < 600  # both limits were reached and recovered


async def test_a_cost_above_the_limit_is_refused_outright() -> None:
    assert not await LocalSlidingWindow().hit(parse_rate("3/minute"), "x", cost=4)


async def test_idle_counters_are_dropped() -> None:
    clock = ManualClock(T0)
    window = LocalSlidingWindow(clock, prune_at=10)
    rate = parse_rate("5/second")
    for n in range(11):
        assert await window.hit(rate, f"key{n}")
    assert len(window._counters) == 11  # all in the current window: kept
    clock.now += 5
    for n in range(11, 23):  # the 23rd counter is one more than twice those kept last time
        assert await window.hit(rate, f"key{n}")
    assert set(window._counters) == {((f"key{n}",), 5, 1) for n in range(11, 23)}
