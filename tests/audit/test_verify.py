"""Tampering with real files (raw sqlite3, rewritten JSON lines) and what the verifier reports."""

import json
import sqlite3
from contextlib import closing

import pytest

from mcp_guard.audit.chain import RECORD_FIELDS, link_hash
from mcp_guard.audit.jsonl_store import JSONLStore
from mcp_guard.audit.sqlite_store import COLUMNS, SQLiteStore
from mcp_guard.audit.verify import verify_store

from .helpers import T0, sealed

CHAIN_COLUMNS = COLUMNS[1:]  # everything but seq: what a row "is"


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "audit.db"
    store = SQLiteStore(path)
    store.append_batch(sealed(10))
    store.close()
    return path


@pytest.fixture
def jsonl_path(tmp_path):
    path = tmp_path / "audit.jsonl"
    JSONLStore(path).append_batch(sealed(10))
    return path


def sql(path, statement, *params):
    with closing(sqlite3.connect(path)) as db, db:
        return db.execute(statement, params).fetchall()


def swap(path, a, b, columns):
    listed = ", ".join(columns)
    (row_a,) = sql(path, f"SELECT {listed} FROM audit_log WHERE seq = ?", a)
    (row_b,) = sql(path, f"SELECT {listed} FROM audit_log WHERE seq = ?", b)
    assignments = ", ".join(f"{column} = ?" for column in columns)
    sql(path, f"UPDATE audit_log SET {assignments} WHERE seq = ?", *row_b, a)
    sql(path, f"UPDATE audit_log SET {assignments} WHERE seq = ?", *row_a, b)


def findings(store):
    report = verify_store(store)
    store.close()
    return report, [(problem.seq, problem.kind) for problem in report.problems]


def test_untouched_chain_verifies(db_path):
    report, problems = findings(SQLiteStore(db_path))
    assert report.ok and problems == [] and report.checked == 10 and report.head.seq == 10


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET cost = 99 WHERE seq = 5",
        "UPDATE audit_log SET decision = 'allowed', outcome = 'denied' WHERE seq = 5",
        """UPDATE audit_log SET arguments = '{"query":"something else"}' WHERE seq = 5""",
        "UPDATE audit_log SET hash = '" + "a" * 64 + "' WHERE seq = 5",
    ],
)
def test_an_edited_column_is_reported_at_its_seq(db_path, statement):
    sql(db_path, statement)
    report, problems = findings(SQLiteStore(db_path))
    assert not report.ok
    assert problems == [(5, "edited")]


def test_a_deleted_row_is_reported_at_its_seq(db_path):
    sql(db_path, "DELETE FROM audit_log WHERE seq = 5")
    assert findings(SQLiteStore(db_path))[1] == [(5, "deleted")]


def test_deleted_rows_at_the_start_and_in_a_range(db_path):
    sql(db_path, "DELETE FROM audit_log WHERE seq = 1 OR seq BETWEEN 4 AND 6")
    report, problems = findings(SQLiteStore(db_path))
    assert problems == [(1, "deleted"), (4, "deleted")]
    assert "seqs 4..6 missing" in str(report.problems[1])


def test_rows_swapped_with_their_hashes_are_reordered(db_path):
    swap(db_path, 4, 7, CHAIN_COLUMNS)
    report, problems = findings(SQLiteStore(db_path))
    assert problems == [(4, "reordered"), (7, "reordered")]
    assert "sealed at seq 7" in report.problems[0].detail


def test_contents_swapped_under_the_hashes_are_reordered(db_path):
    swap(db_path, 5, 6, RECORD_FIELDS)
    assert findings(SQLiteStore(db_path))[1] == [(5, "reordered"), (6, "reordered")]


def test_a_resealed_edit_breaks_the_link_to_the_next_row(db_path):
    (prev_hash,) = sql(db_path, "SELECT prev_hash FROM audit_log WHERE seq = 5")[0]
    store = SQLiteStore(db_path)
    forged = next(row for row in store.iter_chain() if row.seq == 5).record
    store.close()
    forged.cost = 0.0
    sql(db_path, "UPDATE audit_log SET cost = 0, hash = ? WHERE seq = 5", link_hash(prev_hash, forged, 5))
    assert findings(SQLiteStore(db_path))[1] == [(6, "deleted")]


def test_purge_leaves_a_verifiable_chain_and_a_later_deletion_is_still_found(db_path):
    store = SQLiteStore(db_path)
    assert store.purge_before(T0 + 4) == 3
    report = verify_store(store)
    store.close()
    assert report.ok and report.checked == 7 and report.anchor.seq == 3
    sql(db_path, "DELETE FROM audit_log WHERE seq = 4")  # right after the anchor
    sql(db_path, "DELETE FROM audit_log WHERE seq = 8")
    assert findings(SQLiteStore(db_path))[1] == [(4, "deleted"), (8, "deleted")]


def test_a_forged_anchor_is_found(db_path):
    store = SQLiteStore(db_path)
    store.purge_before(T0 + 4)
    store.close()
    sql(db_path, "UPDATE audit_anchor SET hash = ?", "b" * 64)
    report, problems = findings(SQLiteStore(db_path))
    assert problems == [(4, "deleted")] and "the anchor" in report.problems[0].detail


def test_dropping_the_anchor_shows_the_purged_records_as_deleted(db_path):
    store = SQLiteStore(db_path)
    store.purge_before(T0 + 4)
    store.close()
    sql(db_path, "DELETE FROM audit_anchor")
    assert findings(SQLiteStore(db_path))[1] == [(1, "deleted")]


def lines(path):
    return path.read_bytes().splitlines(keepends=True)


def test_jsonl_lines_swapped_are_reordered(jsonl_path):
    content = lines(jsonl_path)
    content[3], content[4] = content[4], content[3]
    jsonl_path.write_bytes(b"".join(content))
    report, problems = findings(JSONLStore(jsonl_path))
    assert problems == [(4, "reordered")] and report.checked == 10


def test_jsonl_deleted_and_edited_lines(jsonl_path):
    content = lines(jsonl_path)
    edited = json.loads(content[7])
    edited["key_name"] = "mallory"
    content[7] = json.dumps(edited).encode() + b"\n"
    del content[2]
    jsonl_path.write_bytes(b"".join(content))
    assert findings(JSONLStore(jsonl_path))[1] == [(3, "deleted"), (8, "edited")]


def test_jsonl_unreadable_line_stops_verification_with_a_problem(jsonl_path):
    content = lines(jsonl_path)
    content[5] = b"not json\n"
    jsonl_path.write_bytes(b"".join(content))
    report, problems = findings(JSONLStore(jsonl_path))
    assert problems == [(6, "edited")] and report.checked == 5
    assert "audit.jsonl:6" in report.problems[0].detail


def test_jsonl_purge_then_verify(jsonl_path):
    store = JSONLStore(jsonl_path)
    assert store.purge_before(T0 + 6) == 5
    assert json.loads(lines(jsonl_path)[0]) == {"anchor": {"seq": 5, "hash": store.anchor().hash}}
    report = verify_store(store)
    assert report.ok and report.checked == 5
    assert store.purge_before(T0 + 8) == 2  # a second purge replaces the anchor line
    assert [row.seq for row in store.iter_chain()] == [8, 9, 10] and verify_store(store).ok
