"""Holds a crash left between a call's audit record and its booking, settled as the record says.

A hold is an orphan when it is older than `older_than` seconds and the audit log has a record for its
call (the hold is named after the call). The record says what to do: book its cost (at the record's time,
as the pipeline would have) or, for a refunded or refused call, release the hold. Settling is atomic in
the ledger and finds nothing to do the second time, so two processes sweeping at once, or a sweep racing
the pipeline's own settlement, book a call once. A hold without a record is left to its TTL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from ..budget.ledger import Hold, LedgerStorage, to_micros

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a call's audit record says about its cost."""

    allowed: bool
    cost: float
    time: float


RecordLookup = Callable[[str], Awaitable[Recorded | None]]  # call id → its record, or None


@dataclass(slots=True)
class Settled:
    """Reservation ids settled by one sweep."""

    committed: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.committed) + len(self.released)


async def find_orphans(
    ledger: LedgerStorage, lookup: RecordLookup, *, now: float, ttl: float, older_than: float
) -> list[tuple[Hold, Recorded]]:
    """The holds reserved more than `older_than` seconds before `now` whose call has a record."""
    found = []
    for hold in await ledger.holds():
        if hold.expires - ttl > now - older_than:  # reserved recently: its call may still be under way
            continue
        record = await lookup(hold.reservation)
        if record is not None:
            found.append((hold, record))
    return found


async def settle_orphans(
    ledger: LedgerStorage, lookup: RecordLookup, *, now: float, ttl: float, older_than: float
) -> Settled:
    """Settle every hold `find_orphans` finds as its record says."""
    settled = Settled()
    for hold, record in await find_orphans(ledger, lookup, now=now, ttl=ttl, older_than=older_than):
        amount = min(to_micros(record.cost), hold.amount) if record.allowed else 0
        if amount > 0:
            if await ledger.commit(hold.reservation, amount, record.time):
                settled.committed.append(hold.reservation)
        elif await ledger.release(hold.reservation):
            settled.released.append(hold.reservation)
    return settled


class OrphanSweeper:
    """`settle_orphans` every `every` seconds while `running()`; a failed sweep is logged and retried."""

    def __init__(
        self,
        ledger: LedgerStorage,
        lookup: Callable[[], RecordLookup | None],
        *,
        ttl: float,
        every: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.lookup = lookup  # None while the gateway has no audit log: nothing to settle from
        self.ttl, self.every, self.clock = ttl, every, clock

    async def sweep(self) -> Settled:
        lookup = self.lookup()
        if lookup is None:
            return Settled()
        settled = await settle_orphans(self.ledger, lookup, now=self.clock(), ttl=self.ttl, older_than=self.every)
        if settled:
            logger.warning(
                "Settled %d budget holds a crashed process left after writing their audit records "
                "(%d booked, %d released)",
                len(settled),
                len(settled.committed),
                len(settled.released),
            )
        return settled

    @asynccontextmanager
    async def running(self) -> AsyncIterator[OrphanSweeper]:
        """Sweep in the background while inside (an error inside cancels the sweeps with it)."""
        async with anyio.create_task_group() as group:
            group.start_soon(self._sweep_forever)
            yield self
            group.cancel_scope.cancel()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # a store is down (its own outage lines say so): the next sweep tries again
                logger.debug("Budget hold sweep skipped: %s", exc)
            await anyio.sleep(self.every)
