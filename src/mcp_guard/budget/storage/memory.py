"""A ledger in this process's memory: one gateway process, tests, demos."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import ConfigError
from ..ledger import (
    DEFAULT_RESERVATION_TTL,
    Charge,
    Counter,
    Hold,
    TierUsage,
    admit_charge,
    check_commit,
    check_request,
    check_ttl,
)


@dataclass(frozen=True, slots=True)
class _Hold:
    keys: tuple[str, ...]
    amount: int


class MemoryLedger:
    """Counters and holds in dicts.

    Atomicity: no method awaits anything, so each one runs from its first check to its last write
    without another task of the event loop getting in between. That makes check-all-then-apply atomic
    within one event loop with no lock at all (an `asyncio.Lock` would only hide an await that must not
    be there). It is not shared between processes or threads: use `sqlite:///` for that.
    """

    def __init__(self, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> None:
        self._ttl = check_ttl(reservation_ttl)
        self._counters: dict[str, Counter] = {}
        self._reserved: dict[str, int] = {}  # tier key → sum of its live holds
        self._holds: dict[str, _Hold] = {}
        self._expiry: list[tuple[float, str]] = []  # heap; settled entries are skipped when popped
        self._expires: dict[str, float] = {}  # reservation → when it expires, for `holds`
        # Reservation ids need only be unique in this ledger: a counter, not `uuid4` (2 µs a call).
        self._ids = itertools.count(1)

    @classmethod
    def from_url(cls, url: str, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> MemoryLedger:
        """`memory://`; it takes no host, path or options."""
        if url != "memory://":
            raise ConfigError(f"memory budget storage takes no options: use 'memory://', got {url!r}")
        return cls(reservation_ttl=reservation_ttl)

    async def reserve(
        self, charges: Sequence[Charge], amount: int, now: float, *, reservation: str | None = None
    ) -> str:
        """Hold `amount` at every tier or none (see `LedgerStorage.reserve`)."""
        check_request(charges, amount)
        self._reclaim(now)
        counters = [
            admit_charge(charge, self._counters.get(charge.key), self._reserved.get(charge.key, 0), amount, now)
            for charge in charges
        ]
        reservation = reservation or f"r{next(self._ids)}"
        for counter, charge in zip(counters, charges, strict=True):
            self._counters[charge.key] = counter
            self._reserved[charge.key] = self._reserved.get(charge.key, 0) + amount
        self._holds[reservation] = _Hold(tuple(c.key for c in charges), amount)
        heapq.heappush(self._expiry, (now + self._ttl, reservation))
        self._expires[reservation] = now + self._ttl
        return reservation

    async def commit(self, reservation: str, amount: int, now: float) -> bool:
        """Book `amount` as spend at every tier of the reservation (see `LedgerStorage.commit`)."""
        hold = self._holds.get(reservation)
        if hold is None:
            return False
        check_commit(reservation, hold.amount, amount)
        self._drop(reservation)
        for key in hold.keys:
            self._counters[key] = self._counters[key].at(now).spending(amount)
        return True

    async def release(self, reservation: str) -> bool:
        """Drop the reservation's holds without spending."""
        return self._drop(reservation) is not None

    async def spent(self, key: str, now: float) -> TierUsage:
        """The tier's spend in its current window and its live holds."""
        self._reclaim(now)
        counter = self._counters.get(key)
        reserved = self._reserved.get(key, 0)
        return TierUsage(0, reserved, None, None) if counter is None else counter.usage(reserved, now)

    async def holds(self) -> list[Hold]:
        return [Hold(id_, hold.amount, self._expires[id_]) for id_, hold in self._holds.items()]

    async def tiers(self, now: float) -> dict[str, TierUsage]:
        self._reclaim(now)
        return {key: counter.usage(self._reserved.get(key, 0), now) for key, counter in self._counters.items()}

    async def aclose(self) -> None:
        """Nothing to release."""

    def _drop(self, reservation: str) -> _Hold | None:
        hold = self._holds.pop(reservation, None)
        self._expires.pop(reservation, None)
        if hold is not None:
            for key in hold.keys:
                self._reserved[key] -= hold.amount
        return hold

    def _reclaim(self, now: float) -> None:
        """Release every hold whose TTL has passed: its call never settled (a crash, a lost task)."""
        while self._expiry and self._expiry[0][0] <= now:
            self._drop(heapq.heappop(self._expiry)[1])
