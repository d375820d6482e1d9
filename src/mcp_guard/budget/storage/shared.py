"""What the ledgers shared between processes (`sqlite:///`, `redis://`) have in common.

Each is named in messages without credentials, checks its holds' TTL, gives reservations ids that are
unique across processes, turns its driver's failures into `LedgerError`, and reports a tier's usage from
the counter and holds it reads in one atomic step.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence

from ..ledger import Charge, Counter, LedgerError, TierUsage, check_request, check_ttl


class SharedLedger(ABC):
    """The common part of the shared backends; each implements the rest of `LedgerStorage`."""

    def __init__(self, name: str, reservation_ttl: float) -> None:
        self.name = name  # how logs and errors show the storage: never with a password
        self._ttl = check_ttl(reservation_ttl)

    async def spent(self, key: str, now: float) -> TierUsage:
        """The tier's spend in its current window and its live holds."""
        counter, reserved = await self._stored(key, now)
        return TierUsage(0, reserved, None, None) if counter is None else counter.usage(reserved, now)

    @abstractmethod
    async def _stored(self, key: str, now: float) -> tuple[Counter | None, int]:
        """The tier's stored counter (None before its first spend) and its live holds, read together."""

    def _new_reservation(self, charges: Sequence[Charge], amount: int, reservation: str | None) -> str:
        """Check a reservation request and name it (`reservation`, or random like `uuid4().hex`, at a
        quarter of its cost)."""
        check_request(charges, amount)
        return reservation or os.urandom(16).hex()

    def _failed(self, exc: Exception) -> LedgerError:
        return LedgerError(f"budget storage {self.name!r} failed: {type(exc).__name__}: {exc}")
