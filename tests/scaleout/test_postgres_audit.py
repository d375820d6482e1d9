"""What only the PostgreSQL audit store does (the shared contract runs in tests/audit against it too)."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from mcp_guard.audit import AuditLog, AuditSettings
from mcp_guard.audit.backends import open_store
from mcp_guard.audit.chain import seal
from mcp_guard.audit.postgres_store import PostgresStore
from mcp_guard.audit.query import RecordFilter
from mcp_guard.audit.store import AuditStoreError
from mcp_guard.audit.verify import verify_store
from mcp_guard.errors import ConfigError
from tests.audit.helpers import make_record

from .services import POSTGRES_URL, drop_schema, require, unique

pytestmark = pytest.mark.anyio

WRITERS, RECORDS, BATCH = 4, 600, 50


@pytest.fixture
def schema():
    require(POSTGRES_URL)
    name = unique("audit")
    yield name
    drop_schema(name)


def store_in(schema: str, **options) -> PostgresStore:
    return PostgresStore.from_uri(f"{POSTGRES_URL}?schema={schema}", **options)


async def test_several_writers_build_one_chain_that_verifies(schema):
    """Four logs, each on its own connection (as four processes), append concurrently."""
    # queued: each writer's records go in batches of up to 50 (with commit, each would wait for its own)
    settings = AuditSettings(sink="memory://", durability="queued", batch_size=BATCH, flush_interval=0.0)
    logs = [AuditLog(store_in(schema), settings) for _ in range(WRITERS)]

    async def write(writer: int, log: AuditLog) -> None:
        async with log.running():
            for n in range(RECORDS):
                await log.record(make_record(writer * RECORDS + n + 1))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for writer, log in enumerate(logs):
                group.start_soon(write, writer, log)
    store = store_in(schema)
    try:
        report = verify_store(store)
        assert report.ok and report.checked == WRITERS * RECORDS == report.head.seq, report.problems[:3]
        call_ids = {row.record.call_id for row in store.iter_chain()}
        assert len(call_ids) == WRITERS * RECORDS
    finally:
        store.close()


def test_a_batch_retried_after_its_commit_went_through_is_not_written_twice(schema):
    store = store_in(schema)
    try:
        records = [make_record(n) for n in (1, 2, 3)]
        store.append_batch(seal(store.last_link(), records))
        # The acknowledgement was lost: the log re-reads the head and sends the same records again.
        store.append_batch(seal(store.last_link(), records))
        assert store.last_link().seq == 3 and len(store.query(RecordFilter())) == 3
        assert verify_store(store).ok
    finally:
        store.close()


def test_text_postgres_cannot_hold_still_round_trips_and_verifies(schema):
    store = store_in(schema)
    try:
        record = make_record(1, tool="se\x00arch", arguments={"q": "nul\x00byte", "ok": "\u00e9\u4e2d"}, error="e\x00")
        rows = seal(store.last_link(), [record])
        store.append_batch(rows)
        assert list(store.iter_chain()) == rows and verify_store(store).ok
        assert len(store.query(RecordFilter(server="notes", tool="search"))) == 1  # NUL-free copy for filters
    finally:
        store.close()


def test_reading_a_schema_without_a_log_is_an_error_not_a_new_log(schema):
    store = store_in(schema, create=False)
    with pytest.raises(AuditStoreError, match=f"schema '{schema}'.*holds no mcp-guard audit log"):
        store.last_link()
    with psycopg.connect(POSTGRES_URL) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    assert found is None


def test_errors_name_the_server_but_never_the_password():
    store = open_store("postgresql://auditor:hunter2@127.0.0.1:1/audit?connect_timeout=2")
    with pytest.raises(AuditStoreError) as failed:
        store.last_link()
    assert "postgresql://127.0.0.1:1/audit" in str(failed.value) and "hunter2" not in str(failed.value)


@pytest.mark.parametrize("uri", ["postgresql://db/x?schema=bad-name", "postgresql://db/x?schema=1st"])
def test_the_schema_must_be_a_plain_identifier(uri):
    with pytest.raises(ConfigError, match="must be a plain identifier"):
        open_store(uri)


def test_a_log_on_postgres_is_named_without_credentials():
    log = AuditLog.from_settings(AuditSettings(sink="postgresql://auditor:hunter2@db.internal/audit?schema=s"))
    assert log.name == "postgresql://db.internal/audit"
