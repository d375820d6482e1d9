"""Where runtime keys live (created through the admin endpoints): `memory://`, `sqlite:///path`, or
`postgresql://…` for several hosts (`postgres_store.py`, read through an in-memory replica, `replica.py`).

Lookups are synchronous single-row reads by hash (microseconds, and cached by the resolver); changes run
in a worker thread so they never block the event loop.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import anyio

from ..stores import StoreKind, open_store
from .key_record import KeyRecord, key_from_json, key_to_json


class KeyStore(Protocol):
    def lookup(self, key_hash: str) -> KeyRecord | None: ...
    async def add(self, record: KeyRecord) -> None: ...
    async def list(self) -> list[KeyRecord]: ...
    async def get(self, key_id: str) -> KeyRecord | None: ...
    async def update(self, record: KeyRecord) -> None: ...


class MemoryKeyStore:
    def __init__(self) -> None:
        self._by_id: dict[str, KeyRecord] = {}

    def lookup(self, key_hash: str) -> KeyRecord | None:
        return next((r for r in self._by_id.values() if r.key_hash == key_hash), None)

    async def add(self, record: KeyRecord) -> None:
        if any(r.name == record.name for r in self._by_id.values()):
            raise ValueError(f"a key named {record.name!r} already exists")
        self._by_id[record.id] = record

    async def list(self) -> list[KeyRecord]:
        return sorted(self._by_id.values(), key=lambda r: r.created_at)

    async def get(self, key_id: str) -> KeyRecord | None:
        return self._by_id.get(key_id)

    async def update(self, record: KeyRecord) -> None:
        self._by_id[record.id] = record


_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL
)
"""


class SqliteKeyStore:
    """One row per key; the indexed columns are the ones looked up, the rest is a JSON body."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def lookup(self, key_hash: str) -> KeyRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT body FROM keys WHERE key_hash = ?", (key_hash,)).fetchone()
        return key_from_json(row[0]) if row else None

    async def add(self, record: KeyRecord) -> None:
        def insert() -> None:
            try:
                with self._connect() as db:
                    db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)", _row(record))
            except sqlite3.IntegrityError:
                raise ValueError(f"a key named {record.name!r} already exists") from None

        await anyio.to_thread.run_sync(insert)

    async def list(self) -> list[KeyRecord]:
        def select() -> list[KeyRecord]:
            with self._connect() as db:
                return [key_from_json(b) for (b,) in db.execute("SELECT body FROM keys ORDER BY rowid")]

        return await anyio.to_thread.run_sync(select)

    async def get(self, key_id: str) -> KeyRecord | None:
        def select() -> KeyRecord | None:
            with self._connect() as db:
                row = db.execute("SELECT body FROM keys WHERE id = ?", (key_id,)).fetchone()
            return key_from_json(row[0]) if row else None

        return await anyio.to_thread.run_sync(select)

    async def update(self, record: KeyRecord) -> None:
        def write() -> None:
            with self._connect() as db:
                db.execute("UPDATE keys SET body = ? WHERE id = ?", (_row(record)[3], record.id))

        await anyio.to_thread.run_sync(write)


def _row(record: KeyRecord) -> tuple[str, str, str, str]:
    return record.id, record.name, record.key_hash, key_to_json(record)


def open_key_store(uri: str, *, cache_seconds: float = 1.0, fail_open: bool = False) -> KeyStore:
    """The store named by `uri`: `memory://`, `sqlite:///relative/path` (`sqlite:////absolute`) or
    `postgresql://user@host/db?schema=NAME`, whose replica is at most `cache_seconds` old (see `replica.py`;
    `fail_open` keeps serving the last known keys when the database is unreachable)."""

    def build(kind: StoreKind, where: str) -> KeyStore:
        if kind == "memory":
            return MemoryKeyStore()
        if kind == "sqlite":
            return SqliteKeyStore(where)
        from .postgres_store import PostgresKeyStore  # needs the `postgres` extra

        return PostgresKeyStore.from_uri(where, max_staleness=cache_seconds, fail_open=fail_open)

    return open_store(uri, "auth.store", build)


__all__ = [
    "KeyRecord",
    "KeyStore",
    "MemoryKeyStore",
    "SqliteKeyStore",
    "open_key_store",
    "replace",
]
