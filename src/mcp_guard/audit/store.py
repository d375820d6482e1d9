"""The storage interface every audit backend implements, and what backends share.

Calls are blocking: `AuditLog` runs them in a worker thread, one at a time per log. Each write is atomic
in the backend itself (a transaction, a file lock), not guarded by a lock in this process, so several
gateway processes may share one SQLite file or JSON-lines file and still build one chain: `append_batch`
refuses a batch that does not continue the stored head (`ChainConflict`) and the log re-seals it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from .chain import GENESIS, CorruptRecord, Link, SealedRecord
from .query import CostUsage, RecordFilter


class AuditStoreError(Exception):
    """The backend failed (cannot open, disk full, locked); the message names the store."""


class ChainConflict(AuditStoreError):
    """The batch does not continue the stored chain: another writer appended first."""

    def __init__(self, head: Link, batch_start: Link) -> None:
        super().__init__(f"chain head is {head!r}, batch continues from {batch_start!r}")
        self.head = head


class AuditStore(Protocol):
    """Append-only storage of sealed records, plus the anchor left by retention purges."""

    def append_batch(self, records: Sequence[SealedRecord]) -> None:
        """Write all of `records` or none; raise `ChainConflict` unless they continue `last_link()`."""
        ...

    def last_link(self) -> Link:
        """The newest record's link; the anchor when every record was purged; `GENESIS` when empty."""
        ...

    def anchor(self) -> Link | None:
        """Where the stored chain starts after a purge (the last purged record), or `None`."""
        ...

    def query(self, filters: RecordFilter) -> list[SealedRecord]:
        """Records matching `filters`, newest first."""
        ...

    def cost_usage(self, filters: RecordFilter) -> CostUsage:
        """Calls and spend of the allowed calls matching `filters`, per tool."""
        ...

    def purge_before(self, time: float) -> int:
        """Delete the chain's prefix of records older than `time`, move the anchor; return how many."""
        ...

    def iter_chain(self, first: int | None = None, last: int | None = None) -> Iterator[SealedRecord]:
        """The stored records with `first <= seq <= last` (`None`: no bound) in chain order, for verification."""
        ...

    def close(self) -> None:
        """Release connections and handles; the store reopens on next use."""
        ...


def check_continues(head: Link, records: Sequence[SealedRecord]) -> None:
    """Raise `ChainConflict` unless `records` start right after `head`."""
    start = Link(records[0].seq - 1, records[0].prev_hash)
    if start != head:
        raise ChainConflict(head, start)


def in_range(seq: int, first: int | None, last: int | None) -> bool:
    """`iter_chain`'s bounds: `first <= seq <= last`, `None` meaning no bound."""
    return (first is None or first <= seq) and (last is None or seq <= last)


def sql_bounds(first: int | None, last: int | None) -> tuple[int, int]:
    """`iter_chain`'s bounds for `seq BETWEEN ? AND ?` (64-bit integers: SQLite's and PostgreSQL's)."""
    return (-(2**63) if first is None else first, 2**63 - 1 if last is None else last)


def head_of(newest: Link | None, anchor: Link | None) -> Link:
    """`last_link()` from the newest stored record and the anchor."""
    return newest or anchor or GENESIS


def expired_prefix(records: Iterable[SealedRecord], cutoff: float) -> tuple[int, Link | None]:
    """How many records from the start of the chain precede the first one at or after `cutoff`, and
    the link of the last of them (the new anchor).

    Purging stops there even if a later record is older (clocks step back, calls overlap): only a prefix
    can go, or the remaining chain would have holes.
    """
    count, last = 0, None
    for row in records:
        if row.record.time >= cutoff:
            break
        count, last = count + 1, row.link
    return count, last


@contextmanager
def store_errors(name: str, *kinds: type[Exception]) -> Iterator[None]:
    """Re-raise the driver's `kinds` of error as `AuditStoreError` naming the store."""
    try:
        yield
    except AuditStoreError:
        raise
    except kinds as exc:
        raise AuditStoreError(f"audit store {name!r}: {exc}") from exc


def json_object(text: str | bytes, where: str) -> dict[str, Any]:
    """A stored JSON object (a JSON-lines line, a database row's body); `CorruptRecord` names `where`."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CorruptRecord(f"{where}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CorruptRecord(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


class ConnectionHolder:
    """A store with one database connection, opened on first use; closing drops it (the next use reopens)."""

    _db: Any = None

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()
