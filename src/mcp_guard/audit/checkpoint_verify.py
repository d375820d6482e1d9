"""Checkpoints against the chain: which checkpoints are genuine, and what they prove about the records.

A genuine checkpoint at (seq S, hash H) proves the chain once had H at S. Against the stored chain:

- the row at S has another hash, and the chain itself shows nothing wrong between the last matching
  checkpoint (at G) and S: the chain was re-sealed by someone without the key. The first bad position
  lies in G+1..S; the problem is reported at G+1 (checkpoints are the resolution: nothing else remembers
  what the hashes between them were);
- S is beyond the highest stored seq: records were cut from the end, the first missing one is reported.

Without keys, checkpoints are compared all the same but shown as "not checked": whoever wrote the records
could have written those too. With keys, a checkpoint that does not verify, or that names a key not given,
is a problem itself and proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from .chain import Link
from .checkpoint import Checkpoint, Verifier
from .findings import Problem

Status = Literal["valid", "invalid", "unknown key", "not checked"]


@dataclass(frozen=True, slots=True)
class CheckedCheckpoint:
    """A checkpoint and what its signature said."""

    checkpoint: Checkpoint
    status: Status

    @property
    def trusted(self) -> bool:
        """Compared against the chain: verified, or nothing to verify with."""
        return self.status in ("valid", "not checked")

    def describe(self) -> str:
        """`seq 40, hash …, signed 2026-…Z by key ed25519:…: valid`."""
        cp = self.checkpoint
        return f"seq {cp.seq}, hash {cp.hash}, signed {when(cp.time)} by key {cp.key_id}: {self.status}"


def judge(checkpoints: Iterable[Checkpoint], keys: Sequence[Verifier]) -> tuple[list[CheckedCheckpoint], list[Problem]]:
    """Each checkpoint with its status (by seq), and a problem for each that fails its signature."""
    by_id = {key.key_id: key for key in keys}
    checked: list[CheckedCheckpoint] = []
    problems: list[Problem] = []
    for cp in sorted(checkpoints, key=lambda cp: (cp.seq, cp.time)):
        key = by_id.get(cp.key_id)
        status: Status = "not checked" if not keys else "unknown key" if key is None else "valid"
        if key is not None and not key.verify(cp):
            status = "invalid"
            problems.append(Problem(cp.seq, "checkpoint", f"checkpoint signed {when(cp.time)} does not verify: forged"))
        elif status == "unknown key":
            problems.append(Problem(cp.seq, "checkpoint", f"checkpoint names key {cp.key_id!r}, not among the keys"))
        checked.append(CheckedCheckpoint(cp, status))
    return checked, problems


def bind(
    trusted: Sequence[Checkpoint],
    seen: Mapping[int, str],
    *,
    start: Link,
    head: Link | None,
    end: int | None,
    stored_head: Link,
    chain_problems: Sequence[Problem],
) -> list[Problem]:
    """Problems the checkpoints (sorted by seq) reveal in the rows verified after `start` up to `end`
    (`None`: all): `seen` holds the hash stored at each checkpoint's seq, `head` the highest seq verified
    (`None` when the walk stopped early: then nothing is said about the end), `stored_head` what the store
    gives as its head (read before the rows)."""
    problems: list[Problem] = []
    good, rewrite_found, cut_to = start.seq, False, 0
    for cp in trusted:
        if cp.seq < start.seq or (end is not None and cp.seq > end):
            continue
        stored = start.hash if cp.seq == start.seq else seen.get(cp.seq)
        if stored == cp.hash:
            good = cp.seq
        elif stored is not None and not rewrite_found:
            rewrite_found = True
            if not any(good < problem.seq <= cp.seq for problem in chain_problems):  # else already explained
                problems.append(_rewritten(good, cp))
        elif stored is None and head is not None and cp.seq > head.seq:
            cut_to = cp.seq
    expected = stored_head.seq if end is None else min(end, stored_head.seq)
    if head is not None and max(cut_to, expected) > head.seq:
        problems.append(_cut(head, cut_to, expected))
    return problems


def when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rewritten(good: int, cp: Checkpoint) -> Problem:
    span = f"seq {cp.seq}" if good + 1 == cp.seq else f"somewhere in seqs {good + 1}..{cp.seq}"
    return Problem(
        good + 1,
        "rewritten",
        f"the chain verifies but its hash at seq {cp.seq} is not the one signed {when(cp.time)}: "
        f"re-sealed without the checkpoint key, first change {span}",
    )


def _cut(head: Link, cut_to: int, expected: int) -> Problem:
    if cut_to >= expected:
        evidence = f"a checkpoint was signed at seq {cut_to}"
    else:
        evidence = f"the store's head is at seq {expected}"
    last = max(cut_to, expected)
    missing = f"seq {last}" if head.seq + 1 == last else f"seqs {head.seq + 1}..{last}"
    return Problem(head.seq + 1, "deleted", f"{missing} cut from the end: {evidence}")
