"""The budget's SQLite file: how connections are opened (WAL, schema, version) and pooled.

Connections run in autocommit mode and every transaction is begun explicitly, so a `BEGIN IMMEDIATE` is
never turned into a deferred one behind our back. Each connection is used by one thread at a time: the
pool hands it out and takes it back, and no lock is held in Python.
"""

from __future__ import annotations

import queue
import sqlite3
import time

from ..ledger import LedgerError

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's transaction before failing
_WAL_RETRY = 0.005  # seconds between attempts to switch a new file to WAL

# Amounts are integer micro-units; times are epoch seconds. `user_version` marks the schema's version.
SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS budget_counters (
    tier_key     TEXT PRIMARY KEY,
    period       TEXT NOT NULL,
    calendar     INTEGER NOT NULL,
    window_start REAL NOT NULL,
    window_end   REAL NOT NULL,
    spent        INTEGER NOT NULL,
    limit_micros INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS budget_holds (
    reservation_id TEXT NOT NULL,
    tier_key       TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    expires_at     REAL NOT NULL,
    PRIMARY KEY (reservation_id, tier_key)
);
CREATE INDEX IF NOT EXISTS budget_holds_by_tier ON budget_holds (tier_key);
CREATE INDEX IF NOT EXISTS budget_holds_by_expiry ON budget_holds (expires_at);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""


class ConnectionPool:
    """Idle connections to one file, opened on demand and closed by `close`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False

    def take(self) -> sqlite3.Connection:
        """An idle connection, or a new one."""
        if self._closed:
            raise LedgerError(f"budget storage {self.path!r} is closed")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            return connect(self.path)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open budget storage {self.path!r}: {exc}") from exc

    def give_back(self, conn: sqlite3.Connection) -> None:
        """Keep the connection for the next call, unless it is unusable or the pool is closed."""
        # A connection still inside a transaction (a failed ROLLBACK) would keep the write lock: drop it.
        if self._closed or conn.in_transaction:
            conn.close()
            return
        self._idle.put(conn)
        if self._closed:  # `close` ran while we were putting it back
            self._drain()

    def close(self) -> None:
        """Close idle connections now and busy ones when they come back."""
        self._closed = True
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def connect(path: str) -> sqlite3.Connection:
    """A connection to the budget file, creating the schema in a new file."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    try:
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes, WAL's usual pairing
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.executescript(SCHEMA)
        elif version != SCHEMA_VERSION:
            raise LedgerError(f"budget storage {path!r} has schema version {version}, expected {SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, so that readers never block the writer (once: the mode is kept in the file).

    While another connection has a new file open, the switch fails with "database is locked" at once,
    without waiting for the busy timeout, so it is retried for that long.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY)
