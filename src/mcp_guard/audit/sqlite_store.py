"""`sqlite:///path`: one table in WAL mode, indexed for the queries the gateway runs.

Every `AuditRecord` field is a column (`roles` and `arguments` as JSON text), next to `seq` (the primary
key), `prev_hash` and `hash`. A one-row table holds the anchor left by retention purges. Writes take
SQLite's write lock (`BEGIN IMMEDIATE`) before reading the head, so processes sharing the file append in
turn. `synchronous=FULL`: a committed batch survives a power cut, which `synchronous` mode promises.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .backends import file_path
from .chain import RECORD_FIELDS, CorruptRecord, Link, SealedRecord
from .query import CostUsage, RecordFilter, cost_report, sql_where
from .store import AuditStoreError, ConnectionHolder, check_continues, head_of, sql_bounds, store_errors

SCHEMA_VERSION = 3
SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq         INTEGER PRIMARY KEY,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    time        REAL NOT NULL,
    request_id  TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    decision    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    parent_id   TEXT,
    key_id      TEXT,
    key_name    TEXT,
    user        TEXT,
    roles       TEXT NOT NULL,
    team        TEXT,
    customer    TEXT,
    arguments   TEXT NOT NULL,
    reason      TEXT,
    error       TEXT,
    cost        REAL NOT NULL,
    duration_ms REAL NOT NULL,
    mode        TEXT NOT NULL,
    entry       TEXT NOT NULL,
    client      TEXT,
    key_fingerprint TEXT,
    suppressed  INTEGER NOT NULL DEFAULT 0,
    virtual_server TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time);
CREATE INDEX IF NOT EXISTS audit_log_key ON audit_log (key_id, time);
CREATE INDEX IF NOT EXISTS audit_log_team ON audit_log (team, time);
CREATE INDEX IF NOT EXISTS audit_log_customer ON audit_log (customer, time);
CREATE INDEX IF NOT EXISTS audit_log_tool ON audit_log (server, tool, time);
CREATE INDEX IF NOT EXISTS audit_log_decision ON audit_log (decision, time);
CREATE INDEX IF NOT EXISTS audit_log_call ON audit_log (call_id);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""
# What brings a file of each older schema up to date, inside the transaction that marks it done.
MIGRATIONS = {
    1: "ALTER TABLE audit_log ADD COLUMN client TEXT;"
    "ALTER TABLE audit_log ADD COLUMN key_fingerprint TEXT;"
    "ALTER TABLE audit_log ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;",
    2: "ALTER TABLE audit_log ADD COLUMN virtual_server TEXT;",
}
COLUMNS = ("seq", "prev_hash", "hash", *RECORD_FIELDS)
_JSON_COLUMNS = ("roles", "arguments")
# `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, one encoder for every record
_column_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit_log"
_INSERT = f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_NO_LIMIT = 2**63 - 1


class SQLiteStore(ConnectionHolder):
    """An `AuditStore` in one SQLite file; connects on first use and again after an error."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        self._create = create
        self._db: sqlite3.Connection | None = None

    @classmethod
    def from_uri(cls, uri: str, *, create: bool = True) -> SQLiteStore:
        """`sqlite:///relative.db` or `sqlite:////absolute.db`."""
        return cls(file_path(uri), create=create)

    def append_batch(self, records: Sequence[SealedRecord]) -> None:
        if not records:
            return
        with self._session(write=True) as db:
            check_continues(_last_link(db), records)
            db.executemany(_INSERT, [_to_row(row) for row in records])

    def last_link(self) -> Link:
        with self._session() as db:
            return _last_link(db)

    def anchor(self) -> Link | None:
        with self._session() as db:
            return _anchor(db)

    def query(self, filters: RecordFilter) -> list[SealedRecord]:
        where, params = sql_where(filters)
        limit = _NO_LIMIT if filters.limit is None else filters.limit
        with self._session() as db:
            rows = db.execute(f"{_SELECT}{where} ORDER BY seq DESC LIMIT ?", [*params, limit]).fetchall()
        return [_from_row(row) for row in rows]

    def cost_usage(self, filters: RecordFilter) -> CostUsage:
        where, params = sql_where(filters, "decision = 'allowed'")
        sql = f"SELECT server, tool, COUNT(*), TOTAL(cost) FROM audit_log{where} GROUP BY server, tool"
        with self._session() as db:
            groups = db.execute(sql, params).fetchall()
        return cost_report((f"{server}/{tool}", calls, cost) for server, tool, calls, cost in groups)

    def purge_before(self, time: float) -> int:
        with self._session(write=True) as db:
            (keep_from,) = db.execute("SELECT MIN(seq) FROM audit_log WHERE time >= ?", (time,)).fetchone()
            last = db.execute(
                "SELECT seq, hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1",
                (_NO_LIMIT if keep_from is None else keep_from,),
            ).fetchone()
            if last is None:
                return 0
            deleted = db.execute("DELETE FROM audit_log WHERE seq <= ?", (last[0],)).rowcount
            db.execute("INSERT OR REPLACE INTO audit_anchor (id, seq, hash) VALUES (1, ?, ?)", last)
            return deleted

    def iter_chain(self, first: int | None = None, last: int | None = None) -> Iterator[SealedRecord]:
        bounds = sql_bounds(first, last)
        with self._session() as db:
            for row in db.execute(f"{_SELECT} WHERE seq BETWEEN ? AND ? ORDER BY seq", bounds):
                yield _from_row(row)

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection, inside a write transaction when `write`; driver errors name the file."""
        with store_errors(self.path, sqlite3.Error):
            try:
                db = self._connection()
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if write:
                    db.execute("COMMIT")
            except sqlite3.Error:
                self.close()  # closing rolls back; the next call reconnects, which heals a broken handle
                raise
            except BaseException:
                if self._db is not None and self._db.in_transaction:
                    self._db.rollback()
                raise

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = _connect(Path(self.path), self._create)
        return self._db


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    # `check_same_thread=False`: the log calls in from worker threads, one call at a time.
    uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
    db = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version == 0 and create:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(f"{SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};")
            version = SCHEMA_VERSION
        if version in MIGRATIONS:
            version = _migrate(db)
        if version != SCHEMA_VERSION:
            raise AuditStoreError(f"{str(path)!r} is not an mcp-guard audit database (schema {version!r})")
        if create:  # added later than the schema: files written before it get it now
            db.execute("CREATE INDEX IF NOT EXISTS audit_log_call ON audit_log (call_id)")
        db.execute("PRAGMA synchronous=FULL")
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection) -> int:
    """Bring an older file up to `SCHEMA_VERSION` (columns are only added: its records and their hashes stay
    as they are); under the write lock, so of several processes opening it at once one migrates."""
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        while version in MIGRATIONS:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            version += 1
        db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return int(version)


def _last_link(db: sqlite3.Connection) -> Link:
    newest = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return head_of(Link(*newest) if newest else None, _anchor(db))


def _anchor(db: sqlite3.Connection) -> Link | None:
    row = db.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
    return Link(*row) if row else None


def _to_row(row: SealedRecord) -> tuple[Any, ...]:
    data = row.as_dict()
    for name in _JSON_COLUMNS:
        data[name] = _column_json(data[name])
    return tuple(data[name] for name in COLUMNS)


def _from_row(values: Sequence[Any]) -> SealedRecord:
    data = dict(zip(COLUMNS, values, strict=True))
    try:
        for name in _JSON_COLUMNS:
            data[name] = json.loads(data[name])
    except (TypeError, ValueError) as exc:
        raise CorruptRecord(f"unreadable record (seq {data['seq']!r}): {exc}") from exc
    return SealedRecord.from_dict(data)
