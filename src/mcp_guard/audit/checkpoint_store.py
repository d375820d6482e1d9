"""Where checkpoints are kept, apart from the records: chosen by the audit sink's URI.

- `sqlite:///path`: table `audit_checkpoints` in the same file (created beside the records, never touching
  them: the schema change is additive).
- `postgresql://…`: table `audit_checkpoints` in the same schema (`checkpoint_postgres.py`).
- `jsonl:///path`: the sidecar file `path.checkpoints`, one checkpoint per line.
- `memory://`: a list.

Kept beside the records, checkpoints catch a rewrite by someone without the key, and records cut from the
end below the last checkpoint. Someone who can delete records *and* checkpoints can hide a cut end: that
is what a copy kept elsewhere (`FileCheckpoints` on another disk, or a webhook) is for.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

from .backends import file_path
from .checkpoint import Checkpoint
from .checkpoint_table import COLUMNS, TableCheckpoints, row_checkpoint, row_of
from .store import AuditStoreError, store_errors

_INSERT = f"INSERT INTO audit_checkpoints ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
_SCHEMA = """CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, time REAL NOT NULL, key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL, signature TEXT NOT NULL)"""


class CheckpointStore(Protocol):
    """Append-only storage of checkpoints."""

    def add(self, checkpoint: Checkpoint) -> bool:
        """Store `checkpoint` unless one at its seq or beyond is stored already (another process signed
        that head first): checked and written in one atomic step. True when it was stored."""
        ...

    def last(self) -> Checkpoint | None:
        """The checkpoint with the highest seq (the latest of those), or `None`."""
        ...

    def all(self) -> list[Checkpoint]:
        """Every checkpoint, by seq then time. Unreadable entries raise `AuditStoreError`."""
        ...

    def close(self) -> None: ...


def open_checkpoints(uri: str, *, create: bool = True) -> CheckpointStore:
    """The checkpoint store that goes with the audit sink `uri`."""
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        return SQLiteCheckpoints(file_path(uri), create=create)
    if scheme == "jsonl":
        return FileCheckpoints(f"{file_path(uri)}.checkpoints")
    if scheme in ("postgresql", "postgres"):
        from .checkpoint_postgres import PostgresCheckpoints  # the driver only when it is the sink

        return PostgresCheckpoints.from_uri(uri, create=create)
    if scheme == "memory":
        return MemoryCheckpoints()
    raise AuditStoreError(f"no checkpoint store for audit sink scheme {scheme!r}")


class MemoryCheckpoints:
    """Checkpoints in a list; tests may edit `checkpoints` to tamper."""

    def __init__(self) -> None:
        self.checkpoints: list[Checkpoint] = []
        self._adding = threading.Lock()  # the memory store lives in one process: its lock is the whole truth

    def add(self, checkpoint: Checkpoint) -> bool:
        with self._adding:
            if any(stored.seq >= checkpoint.seq for stored in self.checkpoints):
                return False
            self.checkpoints.append(checkpoint)
            return True

    def last(self) -> Checkpoint | None:
        return max(self.checkpoints, key=_order, default=None)

    def all(self) -> list[Checkpoint]:
        return sorted(self.checkpoints, key=_order)

    def close(self) -> None:
        """Nothing to release."""


class FileCheckpoints:
    """Checkpoints as JSON lines in one file, appended under `flock` and fsynced (the JSONL sidecar, and the
    copy kept elsewhere with `checkpoints.copy_to`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def add(self, checkpoint: Checkpoint) -> bool:
        return self._write(checkpoint, only_if_ahead=True)

    def append(self, checkpoint: Checkpoint) -> None:
        """Store it whatever is there (a copy keeps every checkpoint, in the order they arrive)."""
        self._write(checkpoint, only_if_ahead=False)

    def _write(self, checkpoint: Checkpoint, *, only_if_ahead: bool) -> bool:
        line = json.dumps(checkpoint.as_dict(), separators=(",", ":")).encode() + b"\n"
        with store_errors(self.path, OSError), open(self.path, "a+b", buffering=0) as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            _drop_torn_tail(file)
            if only_if_ahead and any(stored.seq >= checkpoint.seq for stored in self._read()):
                return False
            file.write(line)
            os.fsync(file.fileno())
            return True

    def last(self) -> Checkpoint | None:
        return max(self.all(), key=_order, default=None)

    def all(self) -> list[Checkpoint]:
        return sorted(self._read(), key=_order)

    def _read(self) -> Iterator[Checkpoint]:
        with store_errors(self.path, OSError):
            try:
                file = open(self.path, "rb")
            except FileNotFoundError:
                return
            with file:
                for number, line in enumerate(file, 1):
                    if line.endswith(b"\n") and line.strip():  # an unterminated last line is a write in progress
                        yield _parse(line, f"{self.path}:{number}")

    def close(self) -> None:
        """Nothing stays open between calls."""


class SQLiteCheckpoints(TableCheckpoints):
    """Table `audit_checkpoints` in the audit log's SQLite file."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        self._create = create

    def add(self, checkpoint: Checkpoint) -> bool:
        with self._session(write=True) as db:
            (top,) = db.execute("SELECT MAX(seq) FROM audit_checkpoints").fetchone()
            if top is not None and top >= checkpoint.seq:
                return False
            db.execute(_INSERT, row_of(checkpoint))
            return True

    def _select(self, order: str) -> list[Checkpoint]:
        with self._session() as db:
            if not self._create and not _has_table(db):
                return []  # a log written before checkpoints were configured
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_checkpoints {order}").fetchall()
        return [row_checkpoint(row, self.path) for row in rows]

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; with `write`, inside a transaction holding the write lock from its start, committed
        on success (closing without a commit rolls back). Driver errors name the file."""
        with store_errors(self.path, sqlite3.Error):
            uri = f"{Path(self.path).absolute().as_uri()}?mode={'rwc' if self._create else 'rw'}"
            with closing(sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)) as db:
                if self._create:
                    db.execute(_SCHEMA)
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if write:
                    db.execute("COMMIT")


def _has_table(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_checkpoints'").fetchone()
    return found is not None


def _drop_torn_tail(file: IO[bytes]) -> None:
    """Cut an unterminated last line (an append a crash interrupted), so the next line starts clean."""
    size = file.seek(0, os.SEEK_END)
    if size == 0:
        return
    file.seek(size - 1)
    if file.read(1) != b"\n":
        file.seek(0)
        os.ftruncate(file.fileno(), file.read().rfind(b"\n") + 1)


def _parse(line: bytes, where: str) -> Checkpoint:
    try:
        return Checkpoint.from_dict(json.loads(line))
    except (ValueError, TypeError, AttributeError) as exc:
        raise AuditStoreError(f"{where}: {exc}") from exc


def _order(checkpoint: Checkpoint) -> tuple[int, float]:
    return checkpoint.seq, checkpoint.time
