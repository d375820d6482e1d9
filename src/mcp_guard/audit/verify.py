"""Chain verification: re-hash every stored record and say what was tampered with, and where.

Walking the records in stored order from the anchor (or genesis), each problem is one of:

- `edited`: a record's stored hash does not match its contents;
- `deleted`: seqs are missing, or a record does not link to the one before it (or to the anchor);
- `reordered`: a seq appears after a higher one or twice, or a record holds contents that were sealed at
  another position (two rows swapped, with or without their hash columns).

What the chain cannot show is records cut from its *end*: compare `VerifyReport.head` with a head hash
kept elsewhere for that. Memory use grows with the number of problems, not of records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .chain import GENESIS, CorruptRecord, Link, SealedRecord, is_intact, link_hash
from .store import AuditStore

Kind = Literal["edited", "deleted", "reordered"]
_MAX_CROSS_CHECKED = 200  # suspect rows compared pairwise to spot swaps; beyond this they are `edited`


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: the seq it is at, its kind and a sentence for humans."""

    seq: int
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind} ({self.detail})"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of one verification; `ok` when there is no problem."""

    checked: int
    problems: tuple[Problem, ...]
    anchor: Link | None
    head: Link  # the highest seq seen and its hash: publish it to detect a truncated end later

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(rows: Iterable[SealedRecord], anchor: Link | None = None) -> VerifyReport:
    """Verify `rows` (in stored order) as the chain continuing from `anchor` (genesis when `None`)."""
    verifier = _Verifier(anchor)
    try:
        for row in rows:
            verifier.feed(row)
    except CorruptRecord as exc:
        verifier.unreadable(str(exc))
    return verifier.finish()


def verify_store(store: AuditStore) -> VerifyReport:
    """Verify everything `store` holds, from its anchor."""
    return verify_chain(store.iter_chain(), store.anchor())


class _Verifier:
    def __init__(self, anchor: Link | None) -> None:
        self.anchor = anchor
        self.head = anchor or GENESIS
        self.previous: Link | None = self.head  # the row just before, if it was intact and in order
        self.checked = 0
        self.missing: list[tuple[int, int]] = []  # seq ranges skipped so far; may still turn up later
        self.suspects: list[SealedRecord] = []  # rows whose hash fails: edited, or swapped?
        self.problems: list[Problem] = []

    def feed(self, row: SealedRecord) -> None:
        self.checked += 1
        intact = is_intact(row)
        if row.seq <= self.head.seq:
            self._out_of_order(row, intact)
            return
        if row.seq > self.head.seq + 1:
            self.missing.append((self.head.seq + 1, row.seq - 1))
        previous, self.previous, self.head = self.previous, row.link if intact else None, row.link
        if not intact:
            self.suspects.append(row)
        elif previous is not None and previous.seq == row.seq - 1 and previous.hash != row.prev_hash:
            target = _name(previous, self.anchor)
            self._add(row.seq, "deleted", f"prev_hash does not match {target}: a record was removed or replaced")

    def unreadable(self, detail: str) -> None:
        self._add(self.head.seq + 1, "edited", f"{detail}; verification stopped here")

    def finish(self) -> VerifyReport:
        for low, high in self.missing:
            self._add(low, "deleted", "missing" if low == high else f"seqs {low}..{high} missing")
        for row in self.suspects:
            self.problems.append(self._classify(row))
        problems = tuple(sorted(self.problems, key=lambda problem: (problem.seq, problem.kind)))
        return VerifyReport(self.checked, problems, self.anchor, self.head)

    def _out_of_order(self, row: SealedRecord, intact: bool) -> None:
        self.previous = None
        found = self._take_missing(row.seq)
        where = f"appears after seq {self.head.seq}" if found else "appears twice"
        if intact:
            self._add(row.seq, "reordered", where)
        else:
            self._add(row.seq, "edited", f"{where}, and its hash does not match its contents")

    def _take_missing(self, seq: int) -> bool:
        for index, (low, high) in enumerate(self.missing):
            if low <= seq <= high:
                self.missing[index : index + 1] = [(a, b) for a, b in ((low, seq - 1), (seq + 1, high)) if a <= b]
                return True
        return False

    def _classify(self, row: SealedRecord) -> Problem:
        others = self.suspects if len(self.suspects) <= _MAX_CROSS_CHECKED else []
        for other in others:
            if other is not row and _sealed_at(row, other):
                return Problem(row.seq, "reordered", f"holds the record sealed at seq {other.seq}")
        return Problem(row.seq, "edited", "its hash does not match its contents")

    def _add(self, seq: int, kind: Kind, detail: str) -> None:
        self.problems.append(Problem(seq, kind, detail))


def _name(link: Link, anchor: Link | None) -> str:
    return "the anchor" if link == anchor else "genesis" if link == GENESIS else f"seq {link.seq}"


def _sealed_at(row: SealedRecord, other: SealedRecord) -> bool:
    """True when `row`'s contents were sealed at `other`'s seq: moved whole, or moved without the hashes."""
    return (
        link_hash(row.prev_hash, row.record, other.seq) == row.hash
        or link_hash(other.prev_hash, row.record, other.seq) == other.hash
    )
