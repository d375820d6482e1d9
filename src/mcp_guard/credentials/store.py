"""Where per-user upstream tokens are kept, sealed by the `Vault`: `memory://`, `sqlite:///path` (the
standalone default) or `postgresql://…` (shared by every gateway process, like the keys). One row per
(server, user); the store never sees a token in clear text.

The user is the principal's name: a virtual key's name, or the user an OAuth token maps to.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio

from ..postgres import PostgresTarget
from ..stores import StoreKind, open_store


@dataclass(frozen=True, slots=True)
class StoredCredential:
    server: str
    user: str
    sealed: str  # the token, encrypted
    updated_at: float
    updated_by: str

    def public(self) -> dict[str, Any]:
        """What a listing shows: never the token, sealed or not."""
        return {"server": self.server, "user": self.user, "updated_at": self.updated_at, "updated_by": self.updated_by}


class CredentialStore(Protocol):
    async def get(self, server: str, user: str) -> StoredCredential | None: ...
    async def put(self, credential: StoredCredential) -> None: ...
    async def delete(self, server: str, user: str) -> bool: ...
    async def list(self, server: str) -> list[StoredCredential]: ...


class MemoryCredentialStore:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], StoredCredential] = {}

    async def get(self, server: str, user: str) -> StoredCredential | None:
        return self._rows.get((server, user))

    async def put(self, credential: StoredCredential) -> None:
        self._rows[(credential.server, credential.user)] = credential

    async def delete(self, server: str, user: str) -> bool:
        return self._rows.pop((server, user), None) is not None

    async def list(self, server: str) -> list[StoredCredential]:
        return sorted((c for (s, _), c in self._rows.items() if s == server), key=lambda c: c.user)


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS upstream_credentials (
    server TEXT NOT NULL, user TEXT NOT NULL, sealed TEXT NOT NULL, updated_at REAL NOT NULL,
    updated_by TEXT NOT NULL, PRIMARY KEY (server, user)
)
"""
_COLUMNS = "server, user, sealed, updated_at, updated_by"


class SqliteCredentialStore:
    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SQLITE_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    async def _run(self, sql: str, values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._connect() as db:
                return db.execute(sql, values).fetchall()

        return await anyio.to_thread.run_sync(run)

    async def get(self, server: str, user: str) -> StoredCredential | None:
        sql = f"SELECT {_COLUMNS} FROM upstream_credentials WHERE server = ? AND user = ?"
        rows = await self._run(sql, (server, user))
        return StoredCredential(*rows[0]) if rows else None

    async def put(self, credential: StoredCredential) -> None:
        sql = f"INSERT OR REPLACE INTO upstream_credentials ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        await self._run(sql, _values(credential))

    async def delete(self, server: str, user: str) -> bool:
        sql = "DELETE FROM upstream_credentials WHERE server = ? AND user = ? RETURNING 1"
        return bool(await self._run(sql, (server, user)))

    async def list(self, server: str) -> list[StoredCredential]:
        sql = f"SELECT {_COLUMNS} FROM upstream_credentials WHERE server = ? ORDER BY user"
        return [StoredCredential(*row) for row in await self._run(sql, (server,))]


_PG_COLUMNS = (
    'server TEXT NOT NULL, "user" TEXT NOT NULL, sealed TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL, '
    'updated_by TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (server, "user")'
)
_PG_SELECT = 'server, "user", sealed, updated_at, updated_by'


class PostgresCredentialStore:
    """The rows in a versioned table (`versioned_rows.py`), beside the runtime keys."""

    def __init__(self, target: PostgresTarget) -> None:
        from ..versioned_rows import VersionedRows

        self.rows = VersionedRows(
            target, table="upstream_credentials", versions="upstream_credential_versions", columns=_PG_COLUMNS,
            label="mcp_guard.credentials",
        )  # fmt: skip
        self._table = self.rows.table

    async def get(self, server: str, user: str) -> StoredCredential | None:
        sql = f'SELECT {_PG_SELECT} FROM {self._table} WHERE server = %s AND "user" = %s'
        rows = await self.rows.select(sql, (server, user))
        return StoredCredential(*rows[0]) if rows else None

    async def put(self, credential: StoredCredential) -> None:
        sql = (
            f"INSERT INTO {self._table} ({_PG_SELECT}, version) VALUES (%s, %s, %s, %s, %s, %s) "
            'ON CONFLICT (server, "user") DO UPDATE SET sealed = EXCLUDED.sealed, '
            "updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by, version = EXCLUDED.version"
        )
        await self.rows.change(sql, _values(credential))

    async def delete(self, server: str, user: str) -> bool:
        sql = f'DELETE FROM {self._table} WHERE server = %s AND "user" = %s RETURNING 1'
        return bool(await self.rows.select(sql, (server, user)))

    async def list(self, server: str) -> list[StoredCredential]:
        sql = f'SELECT {_PG_SELECT} FROM {self._table} WHERE server = %s ORDER BY "user"'
        return [StoredCredential(*row) for row in await self.rows.select(sql, (server,))]

    async def close(self) -> None:
        await self.rows.close()


def _values(credential: StoredCredential) -> tuple[Any, ...]:
    c = credential
    return (c.server, c.user, c.sealed, c.updated_at, c.updated_by)


def credential(server: str, user: str, sealed: str, by: str) -> StoredCredential:
    return StoredCredential(server, user, sealed, time.time(), by)


def open_credential_store(uri: str) -> CredentialStore:
    """`memory://`, `sqlite:///relative/path` (`sqlite:////absolute`) or `postgresql://user@host/db?schema=N`."""

    def build(kind: StoreKind, where: str) -> CredentialStore:
        if kind == "memory":
            return MemoryCredentialStore()
        if kind == "sqlite":
            return SqliteCredentialStore(where)
        import psycopg  # noqa: F401 - the `postgres` extra: refused with a hint when missing

        return PostgresCredentialStore(PostgresTarget.parse(where))

    return open_store(uri, "credentials.store", build)
