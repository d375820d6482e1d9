"""`postgresql://user@host/db?schema=NAME`: the audit log in PostgreSQL, shared by every gateway process.

Several writers, one chain. A one-row table (`audit_chain`) holds the chain's head and the retention
anchor. `append_batch` runs in one transaction that first locks that row (`SELECT … FOR UPDATE`), so
writers append in turn: the one holding the lock checks that its batch continues the head, inserts it
with `COPY` and moves the head; the others wait for the lock, then find the head moved, raise
`ChainConflict`, and `AuditLog` re-seals their batch after the new head. The lock is held for one batch
insert, not between batches, so writers interleave whole batches and `mcp-guard audit verify` sees one
unbroken chain whatever the number of processes.

A batch is written at most once. If a commit succeeds but its acknowledgement is lost (the connection
dies at that instant), the log retries the same records, re-sealed after the head that now includes
them; a batch that continues the head but whose first record (same call id, request id and time) is
already stored is therefore taken as written, not written twice.

Each record is stored whole as JSON text (`body`), so it reads back exactly as hashed; the columns beside
it are copies used to filter and sum (`/audit`, `/analytics/costs`), with NUL characters removed because
PostgreSQL text cannot hold them.

Calls are blocking (psycopg), one at a time: `AuditLog` runs them in a worker thread with a limiter of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from ..postgres import PostgresTarget
from .chain import GENESIS_HASH, Link, SealedRecord
from .query import EQUAL_FILTERS, CostUsage, RecordFilter, cost_report, sql_where
from .store import AuditStoreError, ConnectionHolder, check_continues, json_object, sql_bounds, store_errors

SCHEMA_VERSION = 2
# What brings a log of each older schema version up to date (columns are only added: bodies and hashes stay);
# `{log}` is the log table's qualified name.
MIGRATIONS = {1: ("ALTER TABLE {log} ADD COLUMN IF NOT EXISTS virtual_server TEXT",)}
_COLUMNS = ("seq", "prev_hash", "hash", "time", "call_id", "request_id", *EQUAL_FILTERS, "cost", "body")
_FETCH = 2000  # rows per round trip when walking the whole chain


class PostgresStore(ConnectionHolder):
    """An `AuditStore` in one PostgreSQL schema; connects on first use and again after an error."""

    def __init__(self, target: PostgresTarget, *, create: bool = True) -> None:
        self.target = target
        self._create = create
        self._log, self._chain = target.table("audit_log"), target.table("audit_chain")
        self._db: psycopg.Connection[Any] | None = None

    @classmethod
    def from_uri(cls, uri: str, *, create: bool = True) -> PostgresStore:
        """`postgresql://…` (or `postgres://…`), with an optional `?schema=` (default `mcp_guard`)."""
        return cls(PostgresTarget.parse(uri), create=create)

    def append_batch(self, records: Sequence[SealedRecord]) -> None:
        if not records:
            return
        with self._session() as cur:
            cur.execute(f"SELECT head_seq, head_hash FROM {self._chain} WHERE id = 1 FOR UPDATE")
            check_continues(Link(*_one(cur)), records)
            if self._stored(cur, records[0]):
                return  # a retry of a batch whose commit went through
            with cur.copy(f"COPY {self._log} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for row in records:
                    copy.write_row(_to_row(row))
            head = records[-1].link
            cur.execute(f"UPDATE {self._chain} SET head_seq = %s, head_hash = %s WHERE id = 1", (head.seq, head.hash))

    def last_link(self) -> Link:
        with self._session() as cur:
            cur.execute(f"SELECT head_seq, head_hash FROM {self._chain} WHERE id = 1")
            return Link(*_one(cur))

    def anchor(self) -> Link | None:
        with self._session() as cur:
            cur.execute(f"SELECT anchor_seq, anchor_hash FROM {self._chain} WHERE id = 1")
            seq, hash_ = _one(cur)
        return None if seq is None else Link(seq, hash_)

    def query(self, filters: RecordFilter) -> list[SealedRecord]:
        where, params = sql_where(filters, mark="%s", value=_plain)
        limit = "" if filters.limit is None else f" LIMIT {int(filters.limit)}"
        with self._session() as cur:
            cur.execute(f"SELECT seq, prev_hash, hash, body FROM {self._log}{where} ORDER BY seq DESC{limit}", params)
            return [_from_row(row) for row in cur.fetchall()]

    def cost_usage(self, filters: RecordFilter) -> CostUsage:
        where, params = sql_where(filters, "decision = 'allowed'", mark="%s", value=_plain)
        sql = f"SELECT server, tool, COUNT(*), COALESCE(SUM(cost), 0) FROM {self._log}{where} GROUP BY server, tool"
        with self._session() as cur:
            cur.execute(sql, params)
            groups = cur.fetchall()
        return cost_report((f"{server}/{tool}", int(calls), float(cost)) for server, tool, calls, cost in groups)

    def purge_before(self, time: float) -> int:
        with self._session() as cur:
            cur.execute(f"SELECT 1 FROM {self._chain} WHERE id = 1 FOR UPDATE")  # no append meanwhile
            cur.execute(
                f"SELECT seq, hash FROM {self._log} WHERE seq < COALESCE("
                f"(SELECT MIN(seq) FROM {self._log} WHERE time >= %s), 9223372036854775807) "
                "ORDER BY seq DESC LIMIT 1",
                (time,),
            )
            last = cur.fetchone()
            if last is None:
                return 0
            cur.execute(f"DELETE FROM {self._log} WHERE seq <= %s", (last[0],))
            deleted = cur.rowcount
            cur.execute(f"UPDATE {self._chain} SET anchor_seq = %s, anchor_hash = %s WHERE id = 1", last)
            return deleted

    def iter_chain(self, first: int | None = None, last: int | None = None) -> Iterator[SealedRecord]:
        bounds = sql_bounds(first, last)
        with self._session() as plain:
            conn = plain.connection
            with conn.cursor(name="mcp_guard_audit_chain") as cur:  # server-side: memory stays flat
                cur.itersize = _FETCH
                cur.execute(
                    f"SELECT seq, prev_hash, hash, body FROM {self._log} WHERE seq BETWEEN %s AND %s ORDER BY seq",
                    bounds,
                )
                for row in cur:
                    yield _from_row(row)

    @contextmanager
    def _session(self) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor inside one transaction; driver errors name the store and drop the connection."""
        with store_errors(self.target.name, psycopg.Error):
            try:
                db = self._connection()
                with db.transaction(), db.cursor() as cur:
                    yield cur
            except psycopg.Error:
                self.close()  # the next call reconnects, which heals a connection the server dropped
                raise

    def _connection(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.target.conninfo, autocommit=True, **self.target.connect_options())
            try:
                self._prepare(self._db)
            except BaseException:
                self.close()
                raise
        return self._db

    def _prepare(self, db: psycopg.Connection[Any]) -> None:
        """Create the schema and tables (once, under a lock: several processes start together), or, with
        `create=False`, insist they exist."""
        with db.transaction(), db.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"mcp_guard.audit:{self.target.schema}",))
            if self._create:
                for statement in _schema(self.target):
                    cur.execute(statement)
            cur.execute("SELECT to_regclass(%s)", (self._chain,))
            if _one(cur)[0] is None:
                where = f"{self.target.name!r} (schema {self.target.schema!r})"
                raise AuditStoreError(f"{where} holds no mcp-guard audit log")
            cur.execute(f"SELECT version FROM {self._chain} WHERE id = 1")
            (version,) = _one(cur)
            while version in MIGRATIONS:  # under the lock: of several processes starting at once, one migrates
                for statement in MIGRATIONS[version]:
                    cur.execute(statement.format(log=self._log))
                version += 1
                cur.execute(f"UPDATE {self._chain} SET version = %s WHERE id = 1", (version,))
        if version != SCHEMA_VERSION:
            raise AuditStoreError(f"{self.target.name!r}: audit schema version {version!r}, expected {SCHEMA_VERSION}")

    def _stored(self, cur: psycopg.Cursor[Any], first: SealedRecord) -> bool:
        record = first.record
        cur.execute(
            f"SELECT 1 FROM {self._log} WHERE call_id = %s AND request_id = %s AND time = %s LIMIT 1",
            (_plain(record.call_id), _plain(record.request_id), record.time),
        )
        return cur.fetchone() is not None


def _schema(target: PostgresTarget) -> list[str]:
    log, chain = target.table("audit_log"), target.table("audit_chain")
    indexes = {
        "time": "time",
        "key": "key_id, time",
        "team": "team, time",
        "customer": "customer, time",
        "tool": "server, tool, time",
        "decision": "decision, time",
        "call": "call_id",
    }
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"',
        f"""CREATE TABLE IF NOT EXISTS {log} (
            seq BIGINT PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, time DOUBLE PRECISION NOT NULL,
            call_id TEXT NOT NULL, request_id TEXT NOT NULL, key_id TEXT, team TEXT, customer TEXT,
            server TEXT NOT NULL, tool TEXT NOT NULL, decision TEXT NOT NULL, cost DOUBLE PRECISION NOT NULL,
            body TEXT NOT NULL, virtual_server TEXT)""",
        *(f"CREATE INDEX IF NOT EXISTS audit_log_{name} ON {log} ({columns})" for name, columns in indexes.items()),
        f"""CREATE TABLE IF NOT EXISTS {chain} (
            id SMALLINT PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,
            head_seq BIGINT NOT NULL, head_hash TEXT NOT NULL, anchor_seq BIGINT, anchor_hash TEXT)""",
        f"INSERT INTO {chain} VALUES (1, {SCHEMA_VERSION}, 0, '{GENESIS_HASH}', NULL, NULL) "
        "ON CONFLICT (id) DO NOTHING",
    ]


def _to_row(row: SealedRecord) -> tuple[Any, ...]:
    record = row.record
    body = json.dumps(record.as_dict(), ensure_ascii=False, separators=(",", ":"))
    filters = tuple(_plain(getattr(record, name)) for name in EQUAL_FILTERS)
    ids = (_plain(record.call_id), _plain(record.request_id))
    return (row.seq, row.prev_hash, row.hash, record.time, *ids, *filters, record.cost, body)


def _from_row(values: Sequence[Any]) -> SealedRecord:
    seq, prev_hash, hash_, body = values
    data = json_object(body, f"unreadable record (seq {seq!r})")
    return SealedRecord.from_dict({**data, "seq": seq, "prev_hash": prev_hash, "hash": hash_})


def _plain(value: Any) -> Any:
    """Text PostgreSQL can hold (no NUL); other values unchanged."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _one(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cur.fetchone()
    if row is None:
        raise AuditStoreError("the audit_chain row is missing")
    return tuple(row)
