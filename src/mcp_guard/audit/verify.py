"""Chain verification: re-hash every stored record and say what was tampered with, and where.

Walking the records in stored order from the anchor (or genesis), each problem is one of:

- `edited`: a record's stored hash does not match its contents;
- `deleted`: seqs are missing, or a record does not link to the one before it (or to the anchor);
- `reordered`: a seq appears after a higher one or twice, or a record holds contents that were sealed at
  another position (two rows swapped, with or without their hash columns).

What the chain alone cannot show is records cut from its *end*, or a chain re-sealed from scratch:
`verify_store` also compares it with signed checkpoints (`checkpoint_verify.py`), which find both. Memory
use grows with the number of problems and checkpoints, not of records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .chain import GENESIS, CorruptRecord, Link, SealedRecord, is_intact, link_hash
from .checkpoint import Checkpoint, Verifier
from .checkpoint_verify import CheckedCheckpoint, bind, judge
from .findings import Kind, Problem
from .store import AuditStore

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 10_000

_MAX_CROSS_CHECKED = 200  # suspect rows compared pairwise to spot swaps; beyond this they are `edited`


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of one verification; `ok` when there is no problem."""

    checked: int
    problems: tuple[Problem, ...]
    anchor: Link | None  # where the walk started: the retention anchor, or a checkpoint with a range
    head: Link  # the highest seq seen and its hash
    complete: bool = True  # False when an unreadable record stopped the walk
    checkpoint: CheckedCheckpoint | None = None  # the last checkpoint (by seq), whatever its status
    trusted: tuple[Checkpoint, ...] = ()  # the checkpoints compared with the chain, by seq

    @property
    def uncovered(self) -> int:
        """Records past the last trusted checkpoint: a cut among them is seen only against a copy elsewhere."""
        covered = max((cp.seq for cp in self.trusted), default=self.anchor.seq if self.anchor else 0)
        return max(0, self.head.seq - covered)

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


def verify_store(
    store: AuditStore,
    checkpoints: Iterable[Checkpoint] = (),
    keys: Sequence[Verifier] = (),
    *,
    first: int | None = None,
    last: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify what `store` holds, from its anchor, against `checkpoints` (checked with `keys`).

    With `first`, start at the last trusted checkpoint before `first` (its seq and hash are the anchor) and
    stop after `last`. `progress(done, expected)` is called every `PROGRESS_EVERY` records."""
    judged, problems = judge(checkpoints, keys)
    trusted = [checked.checkpoint for checked in judged if checked.trusted]
    stored_head = store.last_link()  # before the rows: rows written meanwhile only add to what is seen
    start = _start(store.anchor(), trusted, first)
    begin = start or GENESIS
    seen: dict[int, str] = {}  # the hash stored at each trusted checkpoint's seq
    rows = _watch(store.iter_chain(None if first is None else begin.seq + 1, last), {cp.seq for cp in trusted}, seen)
    if progress is not None:
        expected = (stored_head.seq if last is None else min(last, stored_head.seq)) - begin.seq
        rows = _counted(rows, max(0, expected), progress)
    report = verify_chain(rows, start)
    bound = bind(
        trusted,
        seen,
        start=begin,
        head=report.head if report.complete else None,
        end=last,
        stored_head=stored_head,
        chain_problems=report.problems,
    )
    problems = sorted([*report.problems, *problems, *bound], key=lambda problem: (problem.seq, problem.kind))
    return dataclasses.replace(
        report, problems=tuple(problems), checkpoint=judged[-1] if judged else None, trusted=tuple(trusted)
    )


def _start(anchor: Link | None, trusted: Sequence[Checkpoint], first: int | None) -> Link | None:
    """Where verification starts: the store's anchor, or the last trusted checkpoint before `first`."""
    if first is None:
        return anchor
    before = [cp for cp in trusted if cp.seq < first and (anchor is None or cp.seq >= anchor.seq)]
    return Link(before[-1].seq, before[-1].hash) if before else anchor


def _watch(rows: Iterable[SealedRecord], seqs: set[int], seen: dict[int, str]) -> Iterator[SealedRecord]:
    """The rows, noting in `seen` the hash first stored at each of `seqs`."""
    for row in rows:
        if row.seq in seqs:
            seen.setdefault(row.seq, row.hash)
        yield row


def _counted(rows: Iterable[SealedRecord], expected: int, progress: Progress) -> Iterator[SealedRecord]:
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            progress(done, expected)
    progress(done, expected)


class _Verifier:
    def __init__(self, anchor: Link | None) -> None:
        self.anchor = anchor
        self.head = anchor or GENESIS
        self.previous: Link | None = self.head  # the row just before, if it was intact and in order
        self.checked = 0
        self.missing: list[tuple[int, int]] = []  # seq ranges skipped so far; may still turn up later
        self.suspects: list[SealedRecord] = []  # rows whose hash fails: edited, or swapped?
        self.problems: list[Problem] = []
        self.complete = True

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
        self.complete = False

    def finish(self) -> VerifyReport:
        for low, high in self.missing:
            self._add(low, "deleted", "missing" if low == high else f"seqs {low}..{high} missing")
        for row in self.suspects:
            self.problems.append(self._classify(row))
        problems = tuple(sorted(self.problems, key=lambda problem: (problem.seq, problem.kind)))
        return VerifyReport(self.checked, problems, self.anchor, self.head, self.complete)

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
