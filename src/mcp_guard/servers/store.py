"""Where servers added at runtime live: the key store's database (`auth.store`, or `servers_store`).

One record per server name: the YAML entry of a server added through the API, and/or an enable/disable
override (which file servers may have too); a deletion is a tombstone, so every process learns of it.
`memory://` keeps them in this process; `sqlite:///path` (the processes of one host) and `postgresql://…`
(every host) are read through a replica (`replica.py`) that follows other processes' changes within
`refresh_interval` (0.25 s) and calls `on_change` when something changed.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import anyio

from ..postgres import PostgresTarget
from ..replica import Replica
from ..stores import StoreKind, open_store

STALENESS = 1.0  # seconds: the replica refreshes every 0.25 s


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """A runtime server (`config`: its YAML entry without the name) and/or an `enabled` override."""

    name: str
    config: dict[str, Any] | None = None
    enabled: bool | None = None
    deleted: bool = False
    updated_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        body = {"config": self.config, "enabled": self.enabled, "deleted": self.deleted, "updated_at": self.updated_at}
        return json.dumps(body)

    @classmethod
    def from_json(cls, name: str, text: str) -> ServerRecord:
        data = json.loads(text)
        return cls(
            name, data.get("config"), data.get("enabled"), bool(data.get("deleted")), data.get("updated_at", 0.0)
        )


class ServerStore(Protocol):
    on_change: Callable[[], None] | None

    def records(self) -> dict[str, ServerRecord]:
        """The live (not deleted) records, by server name."""
        ...

    async def put(self, record: ServerRecord) -> None:
        """Store `record` (replacing the server's previous one) and take it into this process at once."""
        ...

    def running(self) -> Any:
        """An async context that keeps the records in sync while the gateway runs."""
        ...


class _Records:
    """The records by name, and the change callback (shared by every store)."""

    on_change: Callable[[], None] | None = None

    def __init__(self) -> None:
        self._by_name: dict[str, ServerRecord] = {}

    def records(self) -> dict[str, ServerRecord]:
        return {name: record for name, record in self._by_name.items() if not record.deleted}

    def _take(self, records: Sequence[ServerRecord]) -> None:
        for record in records:
            self._by_name[record.name] = record
        if records and self.on_change is not None:
            self.on_change()


class MemoryServerStore(_Records):
    async def put(self, record: ServerRecord) -> None:
        self._take([record])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        yield


class _ReplicatedServers(_Records, Replica[ServerRecord]):
    def __init__(self, name: str) -> None:
        _Records.__init__(self)
        Replica.__init__(self, name=name, what="runtime servers", service="Server store", max_staleness=STALENESS)

    def apply(self, records: Sequence[ServerRecord]) -> None:
        self._take(records)

    async def _refresh_after_change(self) -> None:
        try:
            await self.refresh()
        except Exception:  # noqa: BLE001 - stored; the refresh loop picks it up
            pass


class SqliteServerStore(_ReplicatedServers):
    """Versioned rows in the SQLite file the processes of one host share (a counter row, bumped in the
    same write transaction, numbers the changes)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"sqlite:///{path}")
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS runtime_servers (name TEXT PRIMARY KEY, body TEXT, version INTEGER)")
            db.execute("CREATE TABLE IF NOT EXISTS runtime_server_versions (id INTEGER PRIMARY KEY, version INTEGER)")
            db.execute("INSERT OR IGNORE INTO runtime_server_versions VALUES (1, 0)")

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    async def put(self, record: ServerRecord) -> None:
        def write() -> None:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                (version,) = db.execute(
                    "UPDATE runtime_server_versions SET version = version + 1 WHERE id = 1 RETURNING version"
                ).fetchone()
                db.execute(
                    "INSERT INTO runtime_servers VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "body = excluded.body, version = excluded.version",
                    (record.name, record.to_json(), version),
                )
                db.execute("COMMIT")
            finally:
                db.close()

        await anyio.to_thread.run_sync(write)
        await self._refresh_after_change()

    async def changes_since(self, version: int) -> tuple[list[ServerRecord], int]:
        def read() -> list[tuple[str, str, int]]:
            with self._connect() as db:
                sql = "SELECT name, body, version FROM runtime_servers WHERE version > ? ORDER BY version"
                return db.execute(sql, (version,)).fetchall()

        rows = await anyio.to_thread.run_sync(read)
        return [ServerRecord.from_json(name, body) for name, body, _ in rows], max(
            (v for *_, v in rows), default=version
        )

    async def aclose(self) -> None:
        """Connections are opened per operation."""


class PostgresServerStore(_ReplicatedServers):
    """Versioned rows in PostgreSQL (`versioned_rows.py`, as runtime keys)."""

    def __init__(self, target: PostgresTarget) -> None:
        from ..versioned_rows import VersionedRows

        super().__init__(target.name)
        columns = "name TEXT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL"
        self.rows = VersionedRows(
            target,
            table="runtime_servers",
            versions="runtime_server_versions",
            columns=columns,
            label="mcp_guard.servers",
        )

    async def put(self, record: ServerRecord) -> None:
        sql = (
            f"INSERT INTO {self.rows.table} (name, body, version) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = excluded.version"
        )
        await self.rows.change(sql, (record.name, record.to_json()))
        await self._refresh_after_change()

    async def changes_since(self, version: int) -> tuple[list[ServerRecord], int]:
        rows, newest = await self.rows.since("name, body", version)
        return [ServerRecord.from_json(name, body) for name, body in rows], newest

    async def aclose(self) -> None:
        await self.rows.close()


def open_server_store(uri: str) -> ServerStore:
    """The store named by `uri`: `memory://`, `sqlite:///path` or `postgresql://user@host/db?schema=NAME`."""

    def build(kind: StoreKind, where: str) -> ServerStore:
        if kind == "memory":
            return MemoryServerStore()
        if kind == "sqlite":
            return SqliteServerStore(where)
        return PostgresServerStore(PostgresTarget.parse(where))

    return open_store(uri, "servers_store", build)
