"""`postgresql://user@host/db?schema=NAME`: runtime keys in PostgreSQL, shared by every gateway process.

Each row is one key (the hash and the name are unique) with a `version`. Every change takes the next
version from a one-row counter that it locks until it commits, so versions become visible in the order
they were handed out: a reader that has seen version N has seen every change up to N, and "rows with
`version > N`" is exactly what it missed (a sequence would not do: a lower number can commit later).

Lookups come from the replica (`replica.py`); the admin operations (add, list, get, update) go to the
database, each on a connection of its own (they are rare), and refresh the replica at once so this process
sees its own change on the next request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg

from ..errors import ServiceUnavailable
from ..postgres import PostgresTarget
from .replica import ReplicatedKeyStore
from .store import KeyRecord, key_from_json, key_to_json

ADMIN_TIMEOUT = 10.0


class PostgresKeyStore(ReplicatedKeyStore):
    """Runtime keys in one PostgreSQL schema, read through an in-memory replica."""

    def __init__(self, target: PostgresTarget, *, max_staleness: float = 1.0, fail_open: bool = False) -> None:
        super().__init__(name=target.name, max_staleness=max_staleness, fail_open=fail_open)
        self.target = target
        self._keys, self._versions = target.table("runtime_keys"), target.table("runtime_key_versions")
        self._reader: psycopg.AsyncConnection[Any] | None = None
        self._reading = anyio.Lock()  # the refresh loop and an admin change may refresh at once: one reader
        self._prepared = False

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
        rows = await self._select(f"SELECT body FROM {self._keys} WHERE id = %s", (key_id,))
        return key_from_json(rows[0][0]) if rows else None

    async def changes_since(self, version: int) -> tuple[list[KeyRecord], int]:
        sql = f"SELECT body, version FROM {self._keys} WHERE version > %s ORDER BY version"
        async with self._reading:
            try:
                reader = self._reader = self._reader or await self._connect()
                rows = await (await reader.execute(sql, (version,))).fetchall()
            except BaseException:
                await self._close_reader()  # reopened on the next refresh
                raise
        return [key_from_json(body) for body, _ in rows], max((v for _, v in rows), default=version)

    async def aclose(self) -> None:
        await self._close_reader()

    async def _change(self, sql: str, values: Sequence[Any], after: Sequence[Any] = ()) -> None:
        """Run one change under the next version, then pull it into the replica."""
        async with self._admin() as conn, conn.transaction():
            cursor = await conn.execute(
                f"UPDATE {self._versions} SET version = version + 1 WHERE id = 1 RETURNING version"
            )
            row = await cursor.fetchone()
            await conn.execute(sql, (*values, row[0] if row else 0, *after))
        await self._refresh_quietly()

    async def _select(self, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with self._admin() as conn:
            return await (await conn.execute(sql, values)).fetchall()

    @asynccontextmanager
    async def _admin(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one admin operation; an unreachable database is a 503 naming the store."""
        try:
            with anyio.fail_after(ADMIN_TIMEOUT):
                conn = await self._connect()
                async with conn:
                    yield conn
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise ServiceUnavailable(f"Key store {self.name!r} is unavailable: {type(exc).__name__}") from exc

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception:  # noqa: BLE001 - the change is stored; the refresh loop will pick it up
            pass

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.target.conninfo, autocommit=True, **self.target.connect_options()
        )
        if not self._prepared:
            try:
                await self._create_tables(conn)
            except BaseException:
                await conn.close()
                raise
            self._prepared = True
        return conn

    async def _create_tables(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Once per process, under a lock: several processes start together."""
        schema = self.target.schema
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"mcp_guard.keys:{schema}",))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._keys} (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                "key_hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL, version BIGINT NOT NULL)"
            )
            await conn.execute(f"CREATE INDEX IF NOT EXISTS runtime_keys_version ON {self._keys} (version)")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._versions} "
                "(id SMALLINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)"
            )
            await conn.execute(f"INSERT INTO {self._versions} VALUES (1, 0) ON CONFLICT (id) DO NOTHING")

    # Last in the class: `list` would otherwise shadow the builtin in the annotations below it.
    async def list(self) -> list[KeyRecord]:
        rows = await self._select(f"SELECT body FROM {self._keys}", ())
        return sorted((key_from_json(body) for (body,) in rows), key=lambda record: record.created_at)

    async def _close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            with anyio.CancelScope(shield=True):
                await reader.close()
