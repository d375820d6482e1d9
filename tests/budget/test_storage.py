"""Choosing a storage by URL, and what only the SQLite file does."""

import sqlite3

import pytest

from mcp_guard.budget import LedgerError, open_ledger
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.budget.storage.sqlite import SqliteLedger
from mcp_guard.budget.storage.sqlite_file import SCHEMA_VERSION
from mcp_guard.errors import ConfigError

from .conftest import T0, charge

pytestmark = pytest.mark.anyio

KEY = "key:k1"


def test_memory_url():
    assert isinstance(open_ledger("memory://"), MemoryLedger)


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///budget.db", "budget.db"), ("sqlite:////var/lib/mcp-guard/budget.db", "/var/lib/mcp-guard/budget.db")],
)
def test_sqlite_urls_read_like_sqlalchemy(url, path):
    ledger = open_ledger(url)
    assert isinstance(ledger, SqliteLedger) and ledger.path == path


def test_unknown_scheme_names_it_and_the_supported_ones_but_not_the_password():
    with pytest.raises(ConfigError) as refused:
        open_ledger("mongodb://:hunter2@localhost:27017/0")
    assert str(refused.value) == (
        "Unknown budget storage scheme 'mongodb'; supported schemes: ['memory', 'redis', 'rediss', 'sqlite']"
    )


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "memory://somewhere", "budget.db"])
def test_urls_without_what_the_backend_needs_are_refused(url):
    with pytest.raises(ConfigError, match="budget storage"):
        open_ledger(url)


def test_the_ttl_must_be_positive():
    with pytest.raises(ValueError, match="reservation_ttl must be a positive number of seconds, got 0"):
        open_ledger("memory://", reservation_ttl=0)


async def test_spend_survives_a_restart(tmp_path):
    first = open_ledger(f"sqlite:///{tmp_path}/budget.db")
    await first.commit(await first.reserve([charge(KEY, 1)], 7, T0), 7, T0)
    held = await first.reserve([charge(KEY, 1)], 5, T0)
    await first.aclose()
    second = open_ledger(f"sqlite:///{tmp_path}/budget.db")
    usage = await second.spent(KEY, T0)
    assert (usage.spent, usage.reserved) == (7, 5)
    assert await second.commit(held, 5, T0)
    await second.aclose()


async def test_the_file_is_in_wal_mode_with_the_documented_schema(tmp_path):
    ledger = SqliteLedger(tmp_path / "budget.db")
    await ledger.spent(KEY, T0)
    await ledger.aclose()
    with sqlite3.connect(tmp_path / "budget.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"budget_counters", "budget_holds"}


async def test_a_newer_schema_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "budget.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    ledger = SqliteLedger(tmp_path / "budget.db")
    with pytest.raises(LedgerError, match="schema version 99, expected 1"):
        await ledger.spent(KEY, T0)
    await ledger.aclose()


async def test_driver_errors_are_wrapped_with_the_path(tmp_path):
    ledger = SqliteLedger(tmp_path / "missing-dir" / "budget.db")
    with pytest.raises(LedgerError, match="cannot open budget storage .*missing-dir"):
        await ledger.spent(KEY, T0)


async def test_a_closed_storage_refuses_work(tmp_path):
    ledger = SqliteLedger(tmp_path / "budget.db")
    await ledger.aclose()
    with pytest.raises(LedgerError, match="is closed"):
        await ledger.spent(KEY, T0)
