"""A PostgreSQL table of versioned rows that several gateway processes share and replicate (`replica.py`):
runtime keys, runtime servers.

Every change takes the next version from a one-row counter that it locks until it commits, so versions
become visible in the order they were handed out: a reader that has seen version N has seen every change
up to N, and "rows with `version > N`" is exactly what it missed (a sequence would not do: a lower number
can commit later). The replica's reads use one long-lived connection; changes (rare: admin operations)
each open their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg

from .errors import ServiceUnavailable
from .postgres import PostgresTarget

ADMIN_TIMEOUT = 10.0


class VersionedRows:
    """`table` (its last column `version BIGINT`) and its counter `versions`, created on first use."""

    def __init__(self, target: PostgresTarget, *, table: str, versions: str, columns: str, label: str) -> None:
        self.target = target
        self.name = target.name
        self.table, self.versions = target.table(table), target.table(versions)
        self._columns = columns  # the table's column definitions, `version BIGINT NOT NULL` last
        self._index = f"{table}_version"
        self._label = label  # names the advisory lock that serialises table creation
        self._reader: psycopg.AsyncConnection[Any] | None = None
        self._reading = anyio.Lock()  # the refresh loop and an admin change may read at once: one reader
        self._prepared = False

    async def change(self, sql: str, values: Sequence[Any], after: Sequence[Any] = ()) -> None:
        """Run one change (`sql` takes `values`, then the new version, then `after`) under the next version."""
        async with self.admin() as conn, conn.transaction():
            cursor = await conn.execute(
                f"UPDATE {self.versions} SET version = version + 1 WHERE id = 1 RETURNING version"
            )
            row = await cursor.fetchone()
            await conn.execute(sql, (*values, row[0] if row else 0, *after))

    async def select(self, sql: str, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.admin() as conn:
            return await (await conn.execute(sql, values)).fetchall()

    async def since(self, columns: str, version: int) -> tuple[list[tuple[Any, ...]], int]:
        """`columns` of the rows changed after `version` (oldest change first), and the newest version."""
        sql = f"SELECT {columns}, version FROM {self.table} WHERE version > %s ORDER BY version"
        async with self._reading:
            try:
                reader = self._reader = self._reader or await self._connect()
                rows = await (await reader.execute(sql, (version,))).fetchall()
            except BaseException:
                await self.close()  # reopened on the next refresh
                raise
        return [row[:-1] for row in rows], max((row[-1] for row in rows), default=version)

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one admin operation; an unreachable database is a 503 naming the store."""
        try:
            with anyio.fail_after(ADMIN_TIMEOUT):
                conn = await self._connect()
                async with conn:
                    yield conn
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise ServiceUnavailable(f"Store {self.name!r} is unavailable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            with anyio.CancelScope(shield=True):
                await reader.close()

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
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self._label}:{schema}",))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({self._columns})")
            await conn.execute(f"CREATE INDEX IF NOT EXISTS {self._index} ON {self.table} (version)")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.versions} "
                "(id SMALLINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)"
            )
            await conn.execute(f"INSERT INTO {self.versions} VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
