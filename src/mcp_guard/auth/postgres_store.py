"""`postgresql://user@host/db?schema=NAME`: runtime keys in PostgreSQL, shared by every gateway process.

Each row is one key (the hash and the name are unique) in a table of versioned rows
(`versioned_rows.py`: every change is numbered, so a reader fetches exactly what it missed). Lookups come
from the replica (`replica.py`); the admin operations (add, list, get, update) go to the database, each
on a connection of its own (they are rare), and refresh the replica at once so this process sees its own
change on the next request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from ..postgres import PostgresTarget
from ..versioned_rows import VersionedRows
from .key_record import KeyRecord, key_from_json, key_to_json
from .replica import ReplicatedKeyStore

_COLUMNS = (
    "id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL, "
    "version BIGINT NOT NULL"
)


class PostgresKeyStore(ReplicatedKeyStore):
    """Runtime keys in one PostgreSQL schema, read through an in-memory replica."""

    def __init__(self, target: PostgresTarget, *, max_staleness: float = 1.0, fail_open: bool = False) -> None:
        super().__init__(name=target.name, max_staleness=max_staleness, fail_open=fail_open)
        self.target = target
        self.rows = VersionedRows(
            target, table="runtime_keys", versions="runtime_key_versions", columns=_COLUMNS, label="mcp_guard.keys"
        )
        self._keys = self.rows.table

    @classmethod
    def from_uri(cls, uri: str, *, max_staleness: float = 1.0, fail_open: bool = False) -> PostgresKeyStore:
        return cls(PostgresTarget.parse(uri), max_staleness=max_staleness, fail_open=fail_open)

    async def add(self, record: KeyRecord) -> None:
        sql = f"INSERT INTO {self._keys} (id, name, key_hash, body, version) VALUES (%s, %s, %s, %s, %s)"
        try:
            await self._change(sql, (record.id, record.name, record.key_hash, key_to_json(record)))
        except psycopg.errors.UniqueViolation:
            raise ValueError(f"a key named {record.name!r} already exists") from None

    async def update(self, record: KeyRecord) -> None:
        sql = f"UPDATE {self._keys} SET body = %s, version = %s WHERE id = %s"
        await self._change(sql, (key_to_json(record),), after=(record.id,))

    async def get(self, key_id: str) -> KeyRecord | None:
        rows = await self.rows.select(f"SELECT body FROM {self._keys} WHERE id = %s", (key_id,))
        return key_from_json(rows[0][0]) if rows else None

    async def changes_since(self, version: int) -> tuple[list[KeyRecord], int]:
        rows, newest = await self.rows.since("body", version)
        return [key_from_json(body) for (body,) in rows], newest

    async def aclose(self) -> None:
        await self.rows.close()

    async def _change(self, sql: str, values: Sequence[Any], after: Sequence[Any] = ()) -> None:
        """Run one change under the next version, then pull it into the replica."""
        await self.rows.change(sql, values, after)
        await self._refresh_quietly()

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception:  # noqa: BLE001 - the change is stored; the refresh loop will pick it up
            pass

    # Last in the class: `list` would otherwise shadow the builtin in the annotations below it.
    async def list(self) -> list[KeyRecord]:
        rows = await self.rows.select(f"SELECT body FROM {self._keys}")
        return sorted((key_from_json(body) for (body,) in rows), key=lambda record: record.created_at)
