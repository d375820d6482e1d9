"""A shared store read through a replica each process keeps in memory (runtime keys, runtime servers).

Requests must not wait on a network round trip, so a store shared by several processes keeps what it
holds in memory and `running()` pulls the changes every `refresh_interval`: a change made by any process
reaches every other within about that long. Changes are numbered by the store, so "what changed since
version N" is the whole synchronisation (records are never deleted, only changed: a deletion is a
tombstone). A replica whose last successful refresh began more than `max_staleness` seconds ago is too
old to trust: its readers refuse (503) unless `fail_open`. Outages are logged once (`Outage`).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import anyio

from .outage import Outage

logger = logging.getLogger(__name__)
MIN_INTERVAL, MAX_INTERVAL = 0.05, 1.0
REFRESH_TIMEOUT = 5.0  # a refresh that hangs (a cut network) is abandoned and the connection reopened

R = TypeVar("R")


class Replica(ABC, Generic[R]):
    """The refresh loop, staleness and outage logging of a replicated store; subclasses say how changes
    are read (`changes_since`) and applied (`apply`)."""

    def __init__(
        self,
        *,
        name: str,
        what: str,
        service: str,
        max_staleness: float = 1.0,
        fail_open: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.what = what  # "runtime keys": how log lines name the records
        self.refresh_interval = min(max(max_staleness / 4, MIN_INTERVAL), MAX_INTERVAL)
        self.max_staleness = max(max_staleness, 3 * self.refresh_interval)
        self.fail_open = fail_open
        log = logging.getLogger(type(self).__module__)
        self.outage = Outage(log, f"{service} {name!r}", affected="refreshes")  # "Key store 'postgresql://…'"
        self._clock = clock
        self._version = 0  # the highest change version applied
        self._synced_at: float | None = None  # when the last successful refresh began

    def age(self) -> float | None:
        """Seconds since the last successful refresh began; None if it has never succeeded."""
        return None if self._synced_at is None else self._clock() - self._synced_at

    def stale(self) -> str | None:
        """Why the replica cannot be trusted now (never read, or too old), or None."""
        age = self.age()
        if age is None:
            return "has never been read"
        if age > self.max_staleness:
            return f"was last read {age:.1f} s ago"
        return None

    async def refresh(self) -> None:
        """Apply every change made since the last refresh (by any process); raise if the store fails."""
        started = self._clock()
        with anyio.fail_after(REFRESH_TIMEOUT):
            records, version = await self.changes_since(self._version)
        if records:
            self.apply(records)
        self._version = max(self._version, version)
        self._synced_at = started if self._synced_at is None else max(self._synced_at, started)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Keep the replica in sync while inside; the first refresh is tried before entering."""
        await self._refresh_logged()
        async with anyio.create_task_group() as group:
            group.start_soon(self._refresh_forever)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
                with anyio.CancelScope(shield=True):
                    await self.aclose()

    @abstractmethod
    async def changes_since(self, version: int) -> tuple[Sequence[R], int]:
        """Records changed after `version`, and the newest version among them (or `version`)."""

    @abstractmethod
    def apply(self, records: Sequence[R]) -> None:
        """Take changed records into the replica."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close connections."""

    async def _refresh_forever(self) -> None:
        while True:
            await anyio.sleep(self.refresh_interval)
            await self._refresh_logged()

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # noqa: BLE001 - any failure: log once per outage, try again next tick
            consequence = (
                f"serving the last known {self.what} (fail_open)"
                if self.fail_open
                else f"refusing {self.what} with 503 once the replica is {self.max_staleness:g} s old"
            )
            self.outage.failed(exc, consequence)
        else:
            self.outage.recovered()
