"""The sliding-window counter of `limits`, for `memory://`, without the library's async storage layers.

`limits` computes it in its `MemoryStorage` through wrapped async methods, per-key locks and an expiry
task: ≈ 7 µs a hit. The same arithmetic on a dict takes ≈ 1.2 µs. Each counter keeps its current fixed
window's count and the previous one's; a hit is refused when

    floor(previous × (share of the previous window the sliding window still covers) + current) + cost > limit

exactly as `limits` decides (`MemoryStorage.acquire_sliding_window_entry`), and `get_window_stats` gives
the same reset time and remaining count. Nothing here awaits, so check-then-count is atomic within the
event loop: N concurrent calls against a limit of N are all decided on one consistent count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from math import floor, inf
from typing import NamedTuple

from .rate import Rate

_Key = tuple[tuple[str, ...], int, int]  # whose counter, the limit's amount, its window in seconds


class WindowStats(NamedTuple):
    """As `limits.util.WindowStats`: when the window next has room (epoch seconds), and what is left."""

    reset_time: float
    remaining: int


class LocalSlidingWindow:
    """The `hit` / `get_window_stats` part of `limits.aio.strategies.SlidingWindowCounterRateLimiter`."""

    def __init__(self, clock: Callable[[], float] = time.time, *, prune_at: int = 10_000) -> None:
        self._clock = clock
        # counter → (index of its current window, count in it, count in the window before)
        self._counters: dict[_Key, tuple[int, int, int]] = {}
        self._min_prune_at = self._prune_at = prune_at  # counters kept before the idle ones are dropped

    async def hit(self, rate: Rate, *identifiers: str, cost: int = 1) -> bool:
        """Count `cost` against the limit unless that would exceed it; True when counted."""
        if cost > rate.amount:
            return False
        key, expiry, now = _key(rate, identifiers), rate.seconds, self._clock()
        index = int(now / expiry)
        current, previous = self._counts(key, index)
        if floor(previous * _previous_share(now, expiry) + current) + cost > rate.amount:
            return False
        self._counters[key] = (index, current + cost, previous)
        if len(self._counters) > self._prune_at:
            self._prune(now)
        return True

    async def get_window_stats(self, rate: Rate, *identifiers: str) -> WindowStats:
        """When the next unit frees up (epoch seconds) and how many remain, as `limits` computes them."""
        expiry, now = rate.seconds, self._clock()
        current, previous = self._counts(_key(rate, identifiers), int(now / expiry))
        previous_expires_in = _previous_share(now, expiry) * expiry if previous else 0.0
        remaining = max(0, rate.amount - floor(previous * previous_expires_in / expiry + current))
        if not (previous or current):
            return WindowStats(now, remaining)
        current_expires_in = (1 - (now / expiry) % 1) * expiry + expiry
        previous_reset_in = previous_expires_in % (expiry / previous) if previous else inf
        current_reset_in = current_expires_in % expiry if current else inf
        return WindowStats(now + min(previous_reset_in, current_reset_in), remaining)

    def _counts(self, key: _Key, index: int) -> tuple[int, int]:
        """(current, previous) counts of the counter in window `index`."""
        stored = self._counters.get(key)
        if stored is None:
            return 0, 0
        stored_index, current, previous = stored
        if stored_index == index:
            return current, previous
        return (0, current) if stored_index == index - 1 else (0, 0)

    def _prune(self, now: float) -> None:
        """Drop counters idle for two windows or more (they count nothing any more): bounded memory."""
        self._counters = {key: counts for key, counts in self._counters.items() if counts[0] >= int(now / key[2]) - 1}
        self._prune_at = max(self._min_prune_at, 2 * len(self._counters))


def _key(rate: Rate, identifiers: tuple[str, ...]) -> _Key:
    return identifiers, rate.amount, rate.seconds


def _previous_share(now: float, expiry: int) -> float:
    """How much of the previous fixed window the sliding window ending at `now` still covers (0 to 1)."""
    return 1 - (((now - expiry) / expiry) % 1)
