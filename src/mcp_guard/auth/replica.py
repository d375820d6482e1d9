"""A key store shared by many processes, read through a replica each process keeps in memory.

Authentication is synchronous and on every request, so it must not wait on a network round trip (nor
stall the event loop when the database is slow). A shared store therefore keeps every runtime key in
memory and `running()` pulls the changes every `refresh_interval`: a deactivation made by any process is
refused by every other within about that long. Keys are never deleted, only changed, so "what changed
since version N" is the whole synchronisation.

`lookup` checks the replica's age first: when the last successful refresh began more than
`max_staleness` seconds ago (the store is unreachable), it raises `KeyStoreUnavailable` (503), unless
`fail_open`, where the last known keys keep working and the outage is only logged (a process that has
never read the store then knows no runtime key: 401). Keys from the YAML file never depend on the store.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import anyio

from ..errors import ServiceUnavailable
from ..outage import Outage
from .store import KeyRecord

logger = logging.getLogger(__name__)
MIN_INTERVAL, MAX_INTERVAL = 0.05, 1.0
REFRESH_TIMEOUT = 5.0  # a refresh that hangs (a cut network) is abandoned and the connection reopened


class KeyStoreUnavailable(ServiceUnavailable):
    """The shared key store has not answered for longer than its staleness limit (fail closed)."""


class ReplicatedKeyStore(ABC):
    """A `KeyStore` whose `lookup` reads an in-memory replica that `running()` keeps in sync."""

    def __init__(
        self,
        *,
        name: str,
        max_staleness: float = 1.0,
        fail_open: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.refresh_interval = min(max(max_staleness / 4, MIN_INTERVAL), MAX_INTERVAL)
        self.max_staleness = max(max_staleness, 3 * self.refresh_interval)
        self.fail_open = fail_open
        self.outage = Outage(logger, f"Key store {name!r}", affected="refreshes")
        self._clock = clock
        self._by_hash: dict[str, KeyRecord] = {}
        self._version = 0  # the highest change version applied
        self._synced_at: float | None = None  # when the last successful refresh began

    def lookup(self, key_hash: str) -> KeyRecord | None:
        """The runtime key with this hash, from the replica; `KeyStoreUnavailable` when it is too old."""
        age = None if self._synced_at is None else self._clock() - self._synced_at
        if (age is None or age > self.max_staleness) and not self.fail_open:
            state = "has never been read" if age is None else f"was last read {age:.1f} s ago"
            raise KeyStoreUnavailable(
                f"Runtime keys cannot be checked: the key store {self.name!r} {state} "
                f"(limit {self.max_staleness:g} s); the request was refused"
            )
        return self._by_hash.get(key_hash)

    async def refresh(self) -> None:
        """Apply every change made since the last refresh (by any process); raise if the store fails."""
        started = self._clock()
        with anyio.fail_after(REFRESH_TIMEOUT):
            records, version = await self.changes_since(self._version)
        self._apply(records, version)
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
    async def changes_since(self, version: int) -> tuple[list[KeyRecord], int]:
        """Records changed after `version`, and the newest version among them (or `version`)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close connections."""

    def _apply(self, records: Iterable[KeyRecord], version: int) -> None:
        for record in records:
            self._by_hash[record.key_hash] = record
        self._version = max(self._version, version)

    async def _refresh_forever(self) -> None:
        while True:
            await anyio.sleep(self.refresh_interval)
            await self._refresh_logged()

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # noqa: BLE001 - any failure: log once per outage, try again next tick
            consequence = (
                "serving the last known runtime keys (auth.fail_open)"
                if self.fail_open
                else (f"refusing runtime keys with 503 once the replica is {self.max_staleness:g} s old")
            )
            self.outage.failed(exc, consequence)
        else:
            self.outage.recovered()
