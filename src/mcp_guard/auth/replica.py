"""Runtime keys shared by many processes, read through the in-memory replica each keeps (`replica.py`).

Authentication is synchronous and on every request, so it reads the replica, never the database.
`lookup` checks the replica's age first: when it is too old (the store is unreachable) it raises
`KeyStoreUnavailable` (503), unless `fail_open`, where the last known keys keep working and the outage is
only logged (a process that has never read the store then knows no runtime key: 401). Keys from the YAML
file never depend on the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..errors import ServiceUnavailable
from ..replica import Replica
from .key_record import KeyRecord


class KeyStoreUnavailable(ServiceUnavailable):
    """The shared key store has not answered for longer than its staleness limit (fail closed)."""


class ReplicatedKeyStore(Replica[KeyRecord]):
    """A `KeyStore` whose `lookup` reads an in-memory replica that `running()` keeps in sync."""

    def __init__(
        self,
        *,
        name: str,
        max_staleness: float = 1.0,
        fail_open: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            name=name,
            what="runtime keys",
            service="Key store",
            max_staleness=max_staleness,
            fail_open=fail_open,
            clock=clock,
        )
        self._by_hash: dict[str, KeyRecord] = {}

    def lookup(self, key_hash: str) -> KeyRecord | None:
        """The runtime key with this hash, from the replica; `KeyStoreUnavailable` when it is too old."""
        stale = self.stale()
        if stale is not None and not self.fail_open:
            raise KeyStoreUnavailable(
                f"Runtime keys cannot be checked: the key store {self.name!r} {stale} "
                f"(limit {self.max_staleness:g} s); the request was refused"
            )
        return self._by_hash.get(key_hash)

    def apply(self, records: Iterable[KeyRecord]) -> None:
        for record in records:
            self._by_hash[record.key_hash] = record
