"""The budget ledger: reserve before a call, settle after it, never overspend a tier.

A reservation holds one amount against several tiers (customer, team, key) at once. `reserve` is one
atomic *check all, then apply all* step: either every tier has room and all of them are charged, or
nothing changes and `TierExceeded` names the first tier without room. `commit` turns the hold into spend,
`release` drops it. A hold left unsettled (the process died mid-call) expires after the storage's TTL and
is reclaimed by the next `reserve`.

The invariant every backend keeps, per tier: `spent in the current window + live holds <= limit`, checked
when a hold is added. Holds count against whatever window is current until they are settled, and a commit
books its amount in the window current at that moment, so a window that rolls over mid-call cannot make
room twice for the same call.

Amounts are integer micro-units of the currency (`to_micros`): sums and comparisons are then exact, and
they map onto Redis `INCRBY` and SQL integers alike. Storage never reads a clock: `now` is passed in.
A backend needs no calendar arithmetic of its own: a tier's window is the stored one while `now` is before
its end, otherwise `charge.rule.fresh(now)`, which a caller can compute and pass to a Lua script or to SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, cast, get_args

from .config import Period
from .periods import PeriodRule, Window

MICROS_PER_UNIT = 1_000_000
DEFAULT_RESERVATION_TTL = 600.0


def to_micros(amount: float) -> int:
    """An amount of currency as integer micro-units."""
    return round(amount * MICROS_PER_UNIT)


def from_micros(micros: int) -> float:
    """Integer micro-units back to an amount of currency."""
    return micros / MICROS_PER_UNIT


@dataclass(frozen=True, slots=True)
class Charge:
    """One tier a reservation is held against: its counter key, its limit and how its windows run."""

    key: str
    limit: int  # micro-units
    rule: PeriodRule


@dataclass(frozen=True, slots=True)
class TierUsage:
    """A tier's counter at one moment. `window` is None while no window is open (a rolling budget
    between the end of one window and the next spend)."""

    spent: int
    reserved: int
    limit: int | None
    window: Window | None


@dataclass(frozen=True, slots=True)
class Hold:
    """A live reservation, as `LedgerStorage.holds` lists it."""

    reservation: str
    amount: int  # micro-units
    expires: float  # epoch seconds: reclaimed unbooked after this


class LedgerError(Exception):
    """The storage failed (driver error, unreadable file); the message names the storage."""


class TierExceeded(Exception):
    """A reservation would take a tier over its limit; nothing was reserved anywhere."""

    def __init__(self, key: str, spent: int, reserved: int, limit: int, amount: int) -> None:
        super().__init__(
            f"tier {key!r} would exceed its limit: spent {spent} + reserved {reserved} + {amount} > {limit} micros"
        )
        self.key, self.spent, self.reserved, self.limit, self.amount = key, spent, reserved, limit, amount


class LedgerStorage(Protocol):
    """Where counters and holds live. Every method is one atomic operation on shared state."""

    async def reserve(
        self, charges: Sequence[Charge], amount: int, now: float, *, reservation: str | None = None
    ) -> str:
        """Hold `amount` at every tier of `charges` or at none; return the reservation id (`reservation`
        when given: the pipeline passes the call id, so a hold and the call's audit record share an id).

        First reclaims holds whose TTL has passed. Raises `TierExceeded` for the first tier without room.
        """
        ...

    async def commit(self, reservation: str, amount: int, now: float) -> bool:
        """Book `amount` (at most the reserved amount) as spend at every tier and drop the holds.

        False when the reservation is unknown: already settled, or expired and reclaimed.
        """
        ...

    async def release(self, reservation: str) -> bool:
        """Drop the holds without spending; False when the reservation is unknown."""
        ...

    async def spent(self, key: str, now: float) -> TierUsage:
        """The tier's spend in its current window and its live holds."""
        ...

    async def holds(self) -> list[Hold]:
        """Every hold not yet settled or reclaimed (`reconcile.py` settles those of crashed processes)."""
        ...

    async def tiers(self, now: float) -> dict[str, TierUsage]:
        """Every tier the ledger has a counter for, with its usage in its current window."""
        ...

    async def aclose(self) -> None:
        """Release connections; the storage is unusable afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class Counter:
    """What a backend stores per tier."""

    rule: PeriodRule
    window: Window
    spent: int
    limit: int

    def at(self, now: float) -> Counter:
        """The counter as a spend at `now` sees it: a window that has ended starts over at zero."""
        window = self.rule.window_at(now, self.window)
        return self if window == self.window else Counter(self.rule, window, 0, self.limit)

    def spending(self, amount: int) -> Counter:
        """The counter once `amount` more is spent in its window."""
        # The constructor, not `dataclasses.replace`: 0.8 µs instead of 1.6 µs, on every commit.
        return Counter(self.rule, self.window, self.spent + amount, self.limit)

    def usage(self, reserved: int, now: float) -> TierUsage:
        """What `LedgerStorage.spent` reports: nothing open once a rolling window has ended."""
        if self.window.is_open(now) or self.rule.calendar:
            current = self.at(now)
            return TierUsage(current.spent, reserved, self.limit, current.window)
        return TierUsage(0, reserved, self.limit, None)


def stored_counter(key: str, period: str, calendar: bool, start: float, end: float, spent: int, limit: int) -> Counter:
    """Tier `key`'s counter as a backend reads it back; `LedgerError` for a period this version does not know."""
    if period not in get_args(Period):
        raise LedgerError(f"budget counter {key!r} has an unknown period {period!r}")
    return Counter(PeriodRule(cast(Period, period), calendar), Window(start, end), spent, limit)


def admit_charge(charge: Charge, stored: Counter | None, reserved: int, amount: int, now: float) -> Counter:
    """The tier's counter once `amount` is held at `now`; raise `TierExceeded` if it has no room.

    Pure, so that every backend applies the same rule inside its own atomic step. A changed limit applies
    at once; a changed period once the stored window ends (switching does not wipe the spend so far).
    """
    base = stored if stored is not None else Counter(charge.rule, charge.rule.fresh(now), 0, charge.limit)
    if base.rule != charge.rule or base.limit != charge.limit:  # skipped when unchanged: `replace` costs 1.5 µs
        base = replace(base, rule=charge.rule, limit=charge.limit)
    current = base.at(now)
    if current.spent + reserved + amount > charge.limit:
        raise TierExceeded(charge.key, current.spent, reserved, charge.limit, amount)
    return current


def check_request(charges: Sequence[Charge], amount: int) -> None:
    """Refuse malformed reservations before touching storage."""
    if amount <= 0:
        raise ValueError(f"a reservation needs a positive amount, got {amount!r}")
    keys = [charge.key for charge in charges]
    if not keys:
        raise ValueError("a reservation needs at least one tier")
    if len(set(keys)) != len(keys):
        # Two charges on one key would each be checked against the old counter and overspend it.
        raise ValueError(f"a reservation names a tier twice: {keys!r}")


def check_ttl(ttl: float) -> float:
    """A reservation TTL must be a positive number of seconds."""
    if not ttl > 0:
        raise ValueError(f"reservation_ttl must be a positive number of seconds, got {ttl!r}")
    return ttl


def check_commit(reservation: str, reserved: int, amount: int) -> None:
    """A commit may book less than was held, never more: more could overspend a tier."""
    if not 0 <= amount <= reserved:
        raise ValueError(f"reservation {reservation!r} holds {reserved} micros; cannot commit {amount!r}")
