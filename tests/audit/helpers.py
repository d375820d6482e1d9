"""Records and stores for the audit tests.

The PostgreSQL store uses the machine's server (`MCP_GUARD_TEST_POSTGRES_URL`, default the `test` database
on 127.0.0.1) in a schema named after the test's temporary directory, dropped by `drop_backend`.
"""

import hashlib
import os
from urllib.parse import urlsplit

import pytest

from mcp_guard.audit.chain import GENESIS, normalized, seal
from mcp_guard.audit.jsonl_store import JSONLStore
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.record import AuditRecord
from mcp_guard.audit.sqlite_store import SQLiteStore
from tests.support.processes import port_is_open

T0 = 1_700_000_000.0
POSTGRES_URL = os.environ.get("MCP_GUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_record(n: int = 1, **fields) -> AuditRecord:
    """A plausible record; `n` makes time, ids and cost distinct and increasing."""
    values = dict(
        time=T0 + n,
        request_id=f"req-{n}",
        call_id=f"call-{n}",
        server="notes",
        tool="search",
        decision="allowed",
        outcome="ok",
        key_id="key-1",
        key_name="alice",
        roles=("reader",),
        team="eng",
        customer="acme",
        arguments={"query": f"q{n}"},
        cost=0.01,
        duration_ms=12.5,
    )
    values.update(fields)
    return normalized(AuditRecord(**values))


def sealed(count: int, head=GENESIS, start: int = 1):
    return seal(head, [make_record(n) for n in range(start, start + count)])


def open_backend(kind: str, tmp_path):
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "audit.db")
    if kind == "postgres":
        parts = urlsplit(POSTGRES_URL)
        if not port_is_open(parts.port or 5432, parts.hostname or "127.0.0.1"):
            pytest.skip(f"needs PostgreSQL at {parts.hostname}:{parts.port}")
        pytest.importorskip("psycopg", reason="needs the PostgreSQL driver: pip install 'mcp-guard[postgres]'")
        from mcp_guard.audit.postgres_store import PostgresStore

        return PostgresStore.from_uri(f"{POSTGRES_URL}?schema={postgres_schema(tmp_path)}")
    return JSONLStore(tmp_path / "audit.jsonl")


def postgres_schema(tmp_path) -> str:
    """One schema per test: its temporary directory is unique, even across parallel runs."""
    return "mcpg_test_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]


def drop_backend(kind: str, tmp_path) -> None:
    """Remove what a backend left outside the temporary directory (a PostgreSQL schema)."""
    if kind == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{postgres_schema(tmp_path)}" CASCADE')
