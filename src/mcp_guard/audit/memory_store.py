"""`memory://`: records in a list, for tests and embedded use; gone when the process ends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .chain import Link, SealedRecord
from .query import CostUsage, RecordFilter, select, tally
from .store import check_continues, expired_prefix, head_of, in_range


class MemoryStore:
    """An `AuditStore` in process memory. Tests may edit `records` and `anchor_link` to tamper."""

    def __init__(self) -> None:
        self.records: list[SealedRecord] = []
        self.anchor_link: Link | None = None

    @classmethod
    def from_uri(cls, uri: str, *, create: bool = True) -> MemoryStore:
        """`memory://`: every call gives a new, empty store."""
        return cls()

    def append_batch(self, records: Sequence[SealedRecord]) -> None:
        if records:
            check_continues(self.last_link(), records)
            self.records.extend(records)

    def last_link(self) -> Link:
        return head_of(self.records[-1].link if self.records else None, self.anchor_link)

    def anchor(self) -> Link | None:
        return self.anchor_link

    def query(self, filters: RecordFilter) -> list[SealedRecord]:
        return select(self.records, filters)

    def cost_usage(self, filters: RecordFilter) -> CostUsage:
        return tally(self.records, filters)

    def purge_before(self, time: float) -> int:
        cut, anchor = expired_prefix(self.records, time)
        if anchor is not None:
            self.anchor_link = anchor
            del self.records[:cut]
        return cut

    def iter_chain(self, first: int | None = None, last: int | None = None) -> Iterator[SealedRecord]:
        return iter([row for row in self.records if in_range(row.seq, first, last)])

    def close(self) -> None:
        """Nothing to release; the records stay for the next use."""
