"""Settlements the ledger could not take while its storage was unreachable, kept to be sent later.

A call admitted just before Redis went away still ran and cost money; dropping its commit would leave its
hold to expire unbooked. The guard keeps such settlements here and sends them, oldest first, before its
next reservation, which is the first moment the storage is known to answer again. The list is bounded:
past `limit` the oldest is dropped with an error line (its hold then expires after `reservation_ttl`).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from .ledger import LedgerStorage

logger = logging.getLogger(__name__)
DEFAULT_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Settlement:
    """Commit `amount` of `reservation`, or release it when `refund`."""

    reservation: str
    amount: int
    refund: bool
    call_id: str


class PendingSettlements:
    """A FIFO of settlements waiting for the storage to answer."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._queue: deque[Settlement] = deque()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, settlement: Settlement) -> None:
        if len(self._queue) >= self._limit:
            lost = self._queue.popleft()
            logger.error(
                "more than %d budget settlements wait for the storage; dropping the one of call %s "
                "(its hold expires unbooked)",
                self._limit,
                lost.call_id,
            )
        self._queue.append(settlement)

    async def send(self, ledger: LedgerStorage, now: float) -> None:
        """Send every waiting settlement; a storage error propagates and keeps the unsent ones."""
        sent = 0
        while self._queue:
            # Taken before sending: concurrent calls each send different ones, none twice.
            settlement = self._queue.popleft()
            try:
                if settlement.refund:
                    await ledger.release(settlement.reservation)
                else:
                    await ledger.commit(settlement.reservation, settlement.amount, now)
            except BaseException:
                self._queue.appendleft(settlement)
                raise
            sent += 1
        if sent:
            logger.warning("budget storage answers again: sent %d settlements held back meanwhile", sent)
