"""What the SQL checkpoint stores share (SQLite in `checkpoint_store.py`, PostgreSQL in
`checkpoint_postgres.py`): the `audit_checkpoints` columns, the reads, and rows to and from checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .checkpoint import Checkpoint
from .store import AuditStoreError

COLUMNS = ("seq", "hash", "time", "key_id", "algorithm", "signature")


class TableCheckpoints:
    """What the SQL stores share: each has `add` and `_select(order)`; one short connection per call
    (checkpoints are rare, and the writer's connection stays the writer's)."""

    def add(self, checkpoint: Checkpoint) -> bool:
        raise NotImplementedError

    def last(self) -> Checkpoint | None:
        found = self._select("ORDER BY seq DESC, time DESC LIMIT 1")
        return found[0] if found else None

    def all(self) -> list[Checkpoint]:
        return self._select("ORDER BY seq, time")

    def close(self) -> None:
        """Nothing stays open between calls."""

    def _select(self, order: str) -> list[Checkpoint]:
        raise NotImplementedError


def row_of(checkpoint: Checkpoint) -> tuple[int | float | str, ...]:
    """The checkpoint's values in `COLUMNS` order."""
    return tuple(getattr(checkpoint, name) for name in COLUMNS)


def row_checkpoint(row: Sequence[Any], where: str) -> Checkpoint:
    """A stored row (`COLUMNS` order) as a checkpoint; `AuditStoreError` naming `where` if it is not one."""
    try:
        return Checkpoint.from_dict(dict(zip(COLUMNS, row, strict=True)))
    except ValueError as exc:
        raise AuditStoreError(f"{where}: {exc}") from exc
