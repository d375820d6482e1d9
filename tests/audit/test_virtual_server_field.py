"""`virtual_server`, the audit field added after `client`, `key_fingerprint` and `suppressed`: records
written before it hash and verify as they did, and an existing SQLite file or PostgreSQL schema takes the
new column on first open, its old records intact."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import psycopg

from mcp_guard.audit.chain import GENESIS, canonical_json, link_hash, seal
from mcp_guard.audit.query import RecordFilter
from mcp_guard.audit.sqlite_store import SCHEMA, SQLiteStore
from mcp_guard.audit.verify import verify_store

from .helpers import POSTGRES_URL, drop_backend, make_record, open_backend


def continues_with_a_virtual_server(store, old) -> None:
    """A migrated store still holds `old` as it was, verifies, and takes and filters a record naming one."""
    assert list(store.iter_chain()) == old
    store.append_batch(seal(old[-1].link, [make_record(3, virtual_server="desk")]))
    report = verify_store(store)
    assert report.ok and report.checked == 3
    assert [row.seq for row in store.query(RecordFilter(virtual_server="desk"))] == [3]


def test_a_record_without_a_virtual_server_hashes_as_before():
    plain = make_record(1)
    assert "virtual_server" not in canonical_json(plain, 1)
    through = make_record(1, virtual_server="desk")
    assert '"virtual_server":"desk"' in canonical_json(through, 1)
    assert link_hash("0" * 64, through, 1) != link_hash("0" * 64, plain, 1)


def test_a_schema_2_sqlite_file_is_migrated_and_its_chain_still_verifies(tmp_path):
    path = tmp_path / "v2.db"
    old = seal(GENESIS, [make_record(n, client="10.0.0.1") for n in (1, 2)])
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA.replace(",\n    virtual_server TEXT", "") + "PRAGMA user_version = 2;")
        for row in old:
            data = {k: v for k, v in row.as_dict().items() if k != "virtual_server"}
            values = [json.dumps(v) if k in ("roles", "arguments") else v for k, v in data.items()]
            db.execute(f"INSERT INTO audit_log ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})", values)
        db.commit()
    store = SQLiteStore(path)
    try:
        continues_with_a_virtual_server(store, old)
    finally:
        store.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)


def test_a_version_1_postgres_schema_is_migrated_and_its_chain_still_verifies(tmp_path):
    store = open_backend("postgres", tmp_path)  # skips without PostgreSQL
    try:
        old = seal(GENESIS, [make_record(n) for n in (1, 2)])
        store.append_batch(old)
        store.close()
        log, chain = store.target.table("audit_log"), store.target.table("audit_chain")
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:  # as a version-1 gateway left it
            conn.execute(f"ALTER TABLE {log} DROP COLUMN virtual_server")
            conn.execute(f"UPDATE {chain} SET version = 1")
        reopened = open_backend("postgres", tmp_path)
        try:
            continues_with_a_virtual_server(reopened, old)
        finally:
            reopened.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            assert conn.execute(f"SELECT version FROM {chain}").fetchone() == (2,)
            assert conn.execute(f"SELECT virtual_server FROM {log} ORDER BY seq").fetchall() == [
                (None,),
                (None,),
                ("desk",),
            ]
    finally:
        drop_backend("postgres", tmp_path)
