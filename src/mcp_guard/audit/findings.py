"""What verification reports: one `Problem` per finding, at the first seq it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# edited, deleted, reordered: seen in the chain itself. rewritten: the chain verifies but differs from a
# signed checkpoint. checkpoint: a checkpoint that does not verify with the keys given.
Kind = Literal["edited", "deleted", "reordered", "rewritten", "checkpoint"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: the seq it is at, its kind and a sentence for humans."""

    seq: int
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind} ({self.detail})"
