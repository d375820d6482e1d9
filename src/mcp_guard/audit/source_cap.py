"""`SourceCap`: how many records of refused requests each source (a client address) may have written.

Two token buckets decide: one per source and one for all sources together, each holding a rate's amount
and refilled evenly over its period (`60/minute`: 60 at once, then one a second). A refusal that finds
either empty is not recorded but counted against its source; the source's next record carries that count
(`suppressed`), and `take_report()` gives what was held back since the last report, for a log line.

It lives in one process's memory on purpose: it bounds what one process writes, it is not a limit that
must hold across processes (those are in `ratelimit`). Nothing here awaits, so check-then-take is atomic
within the event loop. The sources are bounded (`max_sources`): the least recently seen is forgotten, and
its pending count is still in the next report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..ratelimit.rate import Rate


class _Bucket:
    __slots__ = ("capacity", "per_second", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.capacity = float(rate.amount)
        self.per_second = rate.amount / rate.seconds
        self.tokens = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now


class _Source:
    __slots__ = ("bucket", "pending")

    def __init__(self, bucket: _Bucket) -> None:
        self.bucket = bucket
        self.pending = 0  # refusals not recorded since this source's last record


@dataclass(frozen=True, slots=True)
class Report:
    """What was held back since the previous report."""

    suppressed: int
    sources: int  # how many sources lost records (sources past the tracking bound count as one)
    busiest: tuple[tuple[str, int], ...]  # the sources that lost most, most first (at most five)


class SourceCap:
    def __init__(
        self, per_source: Rate, total: Rate, *, max_sources: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_sources < 1:
            raise ValueError(f"max_sources must be at least 1, got {max_sources!r}")
        self.per_source = per_source
        self.max_sources = max_sources
        self._clock = clock
        self._total = _Bucket(total, clock())
        self._sources: dict[str, _Source] = {}  # least recently seen first
        self._held: dict[str, int] = {}  # per source (at most `max_sources`), since the last report
        self._held_elsewhere = 0  # from sources past that bound

    def admit(self, source: str) -> int | None:
        """None when this refusal is not to be recorded; else how many from `source` were not, before it."""
        now = self._clock()
        entry = self._seen(source, now)
        bucket, total = entry.bucket, self._total
        bucket.refill(now)
        total.refill(now)
        if bucket.tokens < 1.0 or total.tokens < 1.0:
            entry.pending += 1
            self._hold(source)
            return None
        bucket.tokens -= 1.0
        total.tokens -= 1.0
        pending, entry.pending = entry.pending, 0
        return pending

    def take_report(self) -> Report:
        """What was held back since the previous call; counting starts again."""
        held, elsewhere, self._held, self._held_elsewhere = self._held, self._held_elsewhere, {}, 0
        busiest = tuple(sorted(held.items(), key=lambda item: item[1], reverse=True)[:5])
        return Report(sum(held.values()) + elsewhere, len(held) + (elsewhere > 0), busiest)

    def _hold(self, source: str) -> None:
        held = self._held
        if source in held or len(held) < self.max_sources:
            held[source] = held.get(source, 0) + 1
        else:
            self._held_elsewhere += 1

    def _seen(self, source: str, now: float) -> _Source:
        entry = self._sources.pop(source, None)
        if entry is None:
            entry = _Source(_Bucket(self.per_source, now))
            if len(self._sources) >= self.max_sources:
                del self._sources[next(iter(self._sources))]  # dicts keep insertion order: the least recent
        self._sources[source] = entry  # re-inserted: now the most recent
        return entry
