"""A ledger in a SQLite file, shared by every gateway process on one machine.

Atomicity: `reserve` and `commit` are each one `BEGIN IMMEDIATE` transaction. IMMEDIATE takes the
database's write lock before the first read, so the check (every tier's spend and holds) and the apply
(every counter and hold) see and leave one consistent state, whichever thread or process runs next; other
writers wait up to the busy timeout. The file is in WAL mode so that readers (`spent`) never block writers.

Calls run in worker threads (`anyio.to_thread`), each on a pooled connection (`sqlite_file.py`); no lock
is held in Python. The schema is in `sqlite_file.SCHEMA`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from ...errors import ConfigError
from ..ledger import (
    DEFAULT_RESERVATION_TTL,
    Charge,
    Counter,
    Hold,
    TierExceeded,
    TierUsage,
    admit_charge,
    check_commit,
    stored_counter,
)
from .shared import SharedLedger
from .sqlite_file import ConnectionPool

_PREFIX = "sqlite:///"
_T = TypeVar("_T")


class SqliteLedger(SharedLedger):
    """Counters and holds in one SQLite file (see the module docstring for how it stays atomic)."""

    def __init__(self, path: str | Path, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> None:
        super().__init__(str(path), reservation_ttl)
        self.path = str(path)
        self._pool = ConnectionPool(self.path)

    @classmethod
    def from_url(cls, url: str, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> SqliteLedger:
        """`sqlite:///relative/file.db` or `sqlite:////absolute/file.db` (as SQLAlchemy reads them)."""
        path = url[len(_PREFIX) :] if url.startswith(_PREFIX) else ""
        if not path or path == ":memory:":
            raise ConfigError(
                f"SQLite budget storage needs a file, as 'sqlite:///relative.db' or 'sqlite:////abs/path.db'; "
                f"got {url!r}"
            )
        return cls(path, reservation_ttl=reservation_ttl)

    async def reserve(
        self, charges: Sequence[Charge], amount: int, now: float, *, reservation: str | None = None
    ) -> str:
        """Hold `amount` at every tier or none (see `LedgerStorage.reserve`)."""
        reservation = self._new_reservation(charges, amount, reservation)
        await self._run(lambda conn: _reserve(conn, reservation, charges, amount, now, now + self._ttl))
        return reservation

    async def commit(self, reservation: str, amount: int, now: float) -> bool:
        """Book `amount` as spend at every tier of the reservation (see `LedgerStorage.commit`)."""
        return await self._run(lambda conn: _commit(conn, reservation, amount, now))

    async def release(self, reservation: str) -> bool:
        """Drop the reservation's holds without spending; one statement, so atomic by itself."""
        sql = "DELETE FROM budget_holds WHERE reservation_id = ?"
        return await self._run(lambda conn: conn.execute(sql, (reservation,)).rowcount > 0)

    async def _stored(self, key: str, now: float) -> tuple[Counter | None, int]:
        return await self._run(lambda conn: _stored(conn, key, now))

    async def holds(self) -> list[Hold]:
        sql = "SELECT reservation_id, MAX(amount), MAX(expires_at) FROM budget_holds GROUP BY reservation_id"
        return await self._run(lambda conn: [Hold(*row) for row in conn.execute(sql).fetchall()])

    async def tiers(self, now: float) -> dict[str, TierUsage]:
        return await self._run(lambda conn: _tiers(conn, now))

    async def aclose(self) -> None:
        """Close the connections; the storage refuses further calls."""
        self._pool.close()

    async def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        return await anyio.to_thread.run_sync(self._with_connection, operation)

    def _with_connection(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._pool.take()
        try:
            return operation(conn)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        finally:
            self._pool.give_back(conn)


@contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _reserve(
    conn: sqlite3.Connection, reservation: str, charges: Sequence[Charge], amount: int, now: float, expires: float
) -> None:
    refusal: TierExceeded | None = None
    with _transaction(conn):
        conn.execute("DELETE FROM budget_holds WHERE expires_at <= ?", (now,))  # reclaim unsettled holds
        try:
            counters = [
                admit_charge(charge, _counter(conn, charge.key), _reserved(conn, charge.key, now), amount, now)
                for charge in charges
            ]
        except TierExceeded as exc:
            refusal = exc  # still commit the reclaim above
        else:
            for charge, counter in zip(charges, counters, strict=True):
                _store(conn, charge.key, counter)
                conn.execute(
                    "INSERT INTO budget_holds (reservation_id, tier_key, amount, expires_at) VALUES (?, ?, ?, ?)",
                    (reservation, charge.key, amount, expires),
                )
    if refusal is not None:
        raise refusal


def _commit(conn: sqlite3.Connection, reservation: str, amount: int, now: float) -> bool:
    with _transaction(conn):
        holds = conn.execute(
            "SELECT tier_key, amount FROM budget_holds WHERE reservation_id = ?", (reservation,)
        ).fetchall()
        if not holds:
            return False
        check_commit(reservation, holds[0][1], amount)
        conn.execute("DELETE FROM budget_holds WHERE reservation_id = ?", (reservation,))
        for key, _ in holds:
            stored = _counter(conn, key)
            if stored is not None:
                _store(conn, key, stored.at(now).spending(amount))
    return True


def _stored(conn: sqlite3.Connection, key: str, now: float) -> tuple[Counter | None, int]:
    """The counter and live holds of a tier, read from one snapshot."""
    with _transaction(conn, "DEFERRED"):
        return _counter(conn, key), _reserved(conn, key, now)


def _tiers(conn: sqlite3.Connection, now: float) -> dict[str, TierUsage]:
    with _transaction(conn, "DEFERRED"):
        keys = [key for (key,) in conn.execute("SELECT tier_key FROM budget_counters").fetchall()]
        stored = [(key, _counter(conn, key), _reserved(conn, key, now)) for key in keys]
    return {key: counter.usage(reserved, now) for key, counter, reserved in stored if counter is not None}


def _counter(conn: sqlite3.Connection, key: str) -> Counter | None:
    row = conn.execute(
        "SELECT period, calendar, window_start, window_end, spent, limit_micros FROM budget_counters "
        "WHERE tier_key = ?",
        (key,),
    ).fetchone()
    if row is None:
        return None
    period, calendar, start, end, spent, limit = row
    return stored_counter(key, period, bool(calendar), start, end, spent, limit)


def _reserved(conn: sqlite3.Connection, key: str, now: float) -> int:
    sql = "SELECT COALESCE(SUM(amount), 0) FROM budget_holds WHERE tier_key = ? AND expires_at > ?"
    total: int = conn.execute(sql, (key, now)).fetchone()[0]
    return total


def _store(conn: sqlite3.Connection, key: str, counter: Counter) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO budget_counters "
        "(tier_key, period, calendar, window_start, window_end, spent, limit_micros) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            counter.rule.period,
            int(counter.rule.calendar),
            counter.window.start,
            counter.window.end,
            counter.spent,
            counter.limit,
        ),
    )
