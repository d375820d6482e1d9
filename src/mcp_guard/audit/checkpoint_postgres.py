"""`audit_checkpoints` in the PostgreSQL schema that holds the audit log (an additive table: the log's own
tables and schema version are untouched)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from ..postgres import PostgresTarget
from .checkpoint import Checkpoint
from .checkpoint_table import COLUMNS, TableCheckpoints, row_checkpoint, row_of
from .store import store_errors

_COLUMNS = ", ".join(COLUMNS)


class PostgresCheckpoints(TableCheckpoints):
    """A `CheckpointStore` in PostgreSQL."""

    def __init__(self, target: PostgresTarget, *, create: bool = True) -> None:
        self.target = target
        self._create = create
        self._table = target.table("audit_checkpoints")
        self._lock = f"mcp_guard.checkpoints:{target.schema}"  # an advisory lock's name
        self._prepared = False  # the table exists (created once per instance, not on every call)

    @classmethod
    def from_uri(cls, uri: str, *, create: bool = True) -> PostgresCheckpoints:
        return cls(PostgresTarget.parse(uri), create=create)

    def add(self, checkpoint: Checkpoint) -> bool:
        with self._session() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock,))  # one adder at a time
            cur.execute(f"SELECT MAX(seq) FROM {self._table}")
            top = cur.fetchone()
            if top is not None and top[0] is not None and top[0] >= checkpoint.seq:
                return False
            cur.execute(f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)", row_of(checkpoint))
            return True

    def _select(self, order: str) -> list[Checkpoint]:
        with self._session() as cur:
            cur.execute("SELECT to_regclass(%s)", (self._table,))
            found = cur.fetchone()
            if found is None or found[0] is None:
                return []  # a log written before checkpoints were configured
            cur.execute(f"SELECT {_COLUMNS} FROM {self._table} {order}")
            return [row_checkpoint(row, self.target.name) for row in cur.fetchall()]

    @contextmanager
    def _session(self) -> Iterator[psycopg.Cursor[Any]]:
        with store_errors(self.target.name, psycopg.Error):
            options = self.target.connect_options()
            with psycopg.connect(self.target.conninfo, autocommit=True, **options) as db:
                with db.transaction(), db.cursor() as cur:
                    if self._create and not self._prepared:
                        self._prepare(cur)
                    yield cur
            self._prepared = self._prepared or self._create

    def _prepare(self, cur: psycopg.Cursor[Any]) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock,))
        cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.target.schema}"')
        cur.execute(
            f"""CREATE TABLE IF NOT EXISTS {self._table} (
                id BIGSERIAL PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, time DOUBLE PRECISION NOT NULL,
                key_id TEXT NOT NULL, algorithm TEXT NOT NULL, signature TEXT NOT NULL)"""
        )
        cur.execute(f"CREATE INDEX IF NOT EXISTS audit_checkpoints_seq ON {self._table} (seq)")
