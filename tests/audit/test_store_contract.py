"""One contract, run against every backend (memory, SQLite file, JSON-lines file, PostgreSQL)."""

import pytest

from mcp_guard.audit.chain import GENESIS, Link, seal
from mcp_guard.audit.query import RecordFilter
from mcp_guard.audit.store import ChainConflict
from mcp_guard.audit.verify import verify_store

from .helpers import T0, drop_backend, make_record, open_backend, sealed


def test_empty_store_starts_at_genesis(store):
    assert store.last_link() == GENESIS
    assert store.anchor() is None
    assert list(store.iter_chain()) == []


def test_records_round_trip_exactly(store):
    rows = sealed(3)
    store.append_batch(rows)
    assert list(store.iter_chain()) == rows
    assert store.last_link() == rows[-1].link


def test_append_refuses_a_batch_that_does_not_continue_the_head(store):
    store.append_batch(sealed(2))
    stale = sealed(1)  # sealed after genesis, as a second writer that had not seen the first would
    with pytest.raises(ChainConflict) as info:
        store.append_batch(stale)
    assert info.value.head == store.last_link()
    assert len(list(store.iter_chain())) == 2


def test_empty_batch_is_a_no_op(store):
    store.append_batch([])
    assert store.last_link() == GENESIS


def test_query_filters_newest_first(store):
    records = [
        make_record(1, key_id="k1", team="eng"),
        make_record(2, key_id="k2", team="ops", decision="denied", outcome="denied"),
        make_record(3, key_id="k1", team="eng", server="files", tool="read"),
        make_record(4, key_id="k1", team="ops", virtual_server="desk"),
    ]
    store.append_batch(seal(GENESIS, records))

    def seqs(**conditions):
        return [row.seq for row in store.query(RecordFilter(**conditions))]

    assert seqs() == [4, 3, 2, 1]
    assert seqs(key_id="k1") == [4, 3, 1]
    assert seqs(team="ops") == [4, 2]
    assert seqs(decision="denied") == [2]
    assert seqs(server="files") == [3]
    assert seqs(server="notes", tool="search") == [4, 2, 1]
    assert seqs(since=T0 + 2, until=T0 + 4) == [3, 2]
    assert seqs(after_seq=2) == [4, 3]
    assert seqs(before_seq=4, limit=2) == [3, 2]  # the dashboard's pager: older than the last row shown
    assert seqs(after_seq=1, before_seq=4) == [3, 2]
    assert seqs(limit=2) == [4, 3]
    assert seqs(key_id="k1", team="eng", limit=1) == [3]
    assert seqs(call_id="call-3") == [3]
    assert seqs(call_id="call-9") == []
    assert seqs(virtual_server="desk") == [4] and seqs(virtual_server="notes") == []


def test_cost_usage_counts_allowed_calls_per_tool(store):
    records = [
        make_record(1, cost=0.5),
        make_record(2, cost=0.25, server="files", tool="read"),
        make_record(3, cost=1.0, server="files", tool="read"),
        make_record(4, cost=0.0, decision="denied", outcome="denied"),
        make_record(5, cost=9.0, team="other"),
        make_record(6, cost=7.0, time=T0 + 1000),
    ]
    store.append_batch(seal(GENESIS, records))
    usage = store.cost_usage(RecordFilter(team="eng", since=T0, until=T0 + 100))
    assert usage["calls"] == 3
    assert usage["total"] == pytest.approx(1.75)
    assert usage["by_tool"] == [
        {"tool": "files/read", "calls": 2, "cost": pytest.approx(1.25)},
        {"tool": "notes/search", "calls": 1, "cost": pytest.approx(0.5)},
    ]
    assert store.cost_usage(RecordFilter(customer="nobody")) == {"total": 0.0, "calls": 0, "by_tool": []}


def test_purge_removes_a_prefix_and_anchors_the_rest(store):
    rows = sealed(6)
    store.append_batch(rows)
    assert store.purge_before(T0 + 4) == 3
    assert store.anchor() == rows[2].link
    assert [row.seq for row in store.iter_chain()] == [4, 5, 6]
    assert verify_store(store).ok
    assert store.purge_before(T0 + 4) == 0


def test_purge_stops_at_the_first_recent_record_even_if_a_later_one_is_older(store):
    records = [make_record(1), make_record(2, time=T0 + 50), make_record(3, time=T0 + 2)]
    store.append_batch(seal(GENESIS, records))
    assert store.purge_before(T0 + 10) == 1
    assert [row.seq for row in store.iter_chain()] == [2, 3]
    assert verify_store(store).ok


def test_purging_everything_keeps_the_head_for_the_next_record(store):
    rows = sealed(3)
    store.append_batch(rows)
    assert store.purge_before(T0 + 100) == 3
    assert store.last_link() == rows[-1].link == store.anchor()
    store.append_batch(seal(store.last_link(), [make_record(4, time=T0 + 200)]))
    report = verify_store(store)
    assert report.ok and report.checked == 1 and report.head.seq == 4


@pytest.mark.parametrize("kind", ["sqlite", "jsonl", "postgres"])
def test_a_new_store_on_the_same_file_continues_the_chain(kind, tmp_path):
    first = open_backend(kind, tmp_path)
    first.append_batch(sealed(2))
    first.purge_before(T0 + 2)
    first.close()
    second = open_backend(kind, tmp_path)
    try:
        assert second.last_link() == Link(2, list(second.iter_chain())[-1].hash)
        assert second.anchor().seq == 1
        second.append_batch(seal(second.last_link(), [make_record(3)]))
        assert verify_store(second).ok
    finally:
        second.close()
        drop_backend(kind, tmp_path)
