"""`AuditLog` over real files: queueing, ordering, durability, recovery, restart, retention."""

import dataclasses
import logging
import sqlite3
from contextlib import closing
from datetime import UTC, datetime

import anyio
import pytest

from mcp_guard.audit import AuditLog, AuditSettings, Backoff
from mcp_guard.audit.jsonl_store import JSONLStore
from mcp_guard.audit.sqlite_store import SQLiteStore

from .helpers import T0, make_record

pytestmark = pytest.mark.anyio
FAST = Backoff(first=0.01, most=0.05)


def sqlite_log(path, **settings):
    return AuditLog(SQLiteStore(path), AuditSettings(**settings), backoff=FAST)


def stored_count(path):
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
async def test_records_round_trip_redacted(kind, tmp_path):
    store = SQLiteStore(tmp_path / "a.db") if kind == "sqlite" else JSONLStore(tmp_path / "a.jsonl")
    log = AuditLog(store, AuditSettings(redact=["password", "Api_Key"]))
    arguments = {
        "user": "bob",
        "PassWord": "hunter2-secret",
        "nested": {"API_KEY": {"any": "shape"}, "list": [{"password": 1}, {"keep": "me"}], "apikey": "x"},
    }
    async with log.running():
        await log.record(make_record(1, arguments=arguments, error="'hunter2-secret' is not valid"))
        await log.flush()
        (row,) = await log.query()
    assert row["arguments"] == {
        "user": "bob",
        "PassWord": "[redacted]",
        "nested": {"API_KEY": "[redacted]", "list": [{"password": "[redacted]"}, {"keep": "me"}], "apikey": "x"},
    }
    assert row["error"] == "'[redacted]' is not valid"
    assert arguments["PassWord"] == "hunter2-secret"  # the caller's dict is left alone
    assert row["seq"] == 1 and row["roles"] == ["reader"]
    assert (await log.verify()).ok


async def test_restart_continues_the_chain(tmp_path):
    path = tmp_path / "audit.db"
    for start in (1, 4):
        log = sqlite_log(path)
        async with log.running():
            for n in range(start, start + 3):
                await log.record(make_record(n))
    report = await sqlite_log(path).verify()
    assert report.ok and report.checked == 6 and report.head.seq == 6


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
async def test_ten_thousand_concurrent_records_arrive_complete_and_in_order(kind, tmp_path):
    store = SQLiteStore(tmp_path / "a.db") if kind == "sqlite" else JSONLStore(tmp_path / "a.jsonl")
    log = AuditLog(store, AuditSettings(queue_size=32, batch_size=200, flush_interval=0.01))
    producers, each = 100, 100

    async def produce(producer):
        for n in range(each):
            await log.record(make_record(n, request_id=f"p{producer}", call_id=f"{producer}:{n}"))

    with anyio.fail_after(60):
        async with log.running(), anyio.create_task_group() as group:
            for producer in range(producers):
                group.start_soon(produce, producer)
    rows = list(store.iter_chain())
    assert [row.seq for row in rows] == list(range(1, producers * each + 1))
    for producer in range(producers):
        mine = [row.record.call_id for row in rows if row.record.request_id == f"p{producer}"]
        assert mine == [f"{producer}:{n}" for n in range(each)]
    assert (await log.verify()).ok


async def test_a_full_queue_makes_callers_wait_and_warns_once_per_episode(tmp_path, caplog):
    log = sqlite_log(tmp_path / "a.db", durability="queued", queue_size=2, flush_interval=0)
    caplog.set_level(logging.INFO, logger="mcp_guard.audit.log")

    async def fill_and_overflow(group, first):
        for n in range(first, first + 5):  # two fit, three wait
            group.start_soon(log.record, make_record(n))
        await anyio.wait_all_tasks_blocked()
        assert log.pending == 2

    with anyio.fail_after(10):
        for episode in (1, 6):
            async with anyio.create_task_group() as group:
                await fill_and_overflow(group, episode)
                async with log.running():
                    await log.flush()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "is full" in r.getMessage()]
    assert len(warnings) == 2
    assert stored_count(tmp_path / "a.db") == 10


async def test_a_cancelled_caller_still_gets_its_record_queued(tmp_path):
    log = sqlite_log(tmp_path / "a.db", durability="queued", queue_size=1)
    await log.record(make_record(1))
    caller = anyio.CancelScope()

    async def call():
        with caller:
            await log.record(make_record(2))  # waits for room

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            caller.cancel()
            await anyio.wait_all_tasks_blocked()
            assert log.pending == 1  # still waiting for room rather than giving up its record
            async with log.running():
                pass
    assert stored_count(tmp_path / "a.db") == 2


async def test_by_default_record_returns_once_the_record_is_committed(tmp_path):
    path = tmp_path / "a.db"
    async with sqlite_log(path, flush_interval=30).running() as log:
        await log.record(make_record(1))
        assert stored_count(path) == 1


async def test_concurrent_records_share_one_commit(tmp_path):
    path = tmp_path / "a.db"
    store = SQLiteStore(path)
    batches = []
    append = store.append_batch
    store.append_batch = lambda records: (batches.append(len(records)), append(records))[1]
    async with AuditLog(store, AuditSettings()).running() as log, anyio.create_task_group() as group:
        for n in range(1, 101):
            group.start_soon(log.record, make_record(n))
    assert stored_count(path) == 100
    assert sum(batches) == 100 and len(batches) < 100  # group commit: fewer transactions than calls


async def test_with_commit_durability_a_caller_waits_while_the_store_fails(tmp_path):
    directory = tmp_path / "not-yet"
    log = AuditLog(SQLiteStore(directory / "a.db"), AuditSettings(), backoff=FAST)
    answered = anyio.Event()

    async def call():
        await log.record(make_record(1))
        answered.set()

    with anyio.fail_after(10):
        async with log.running(), anyio.create_task_group() as group:
            group.start_soon(call)
            while log.last_error is None:
                await anyio.sleep(0.01)
            assert not answered.is_set() and log.pending == 1  # no answer without a committed record
            directory.mkdir()
            await answered.wait()
            assert stored_count(directory / "a.db") == 1


async def test_queued_durability_returns_before_the_write(tmp_path):
    path = tmp_path / "a.db"
    async with sqlite_log(path, durability="queued", flush_interval=30).running() as log:
        await log.record(make_record(1))
        assert log.pending == 1
        await log.flush()
        assert stored_count(path) == 1 and log.pending == 0


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
async def test_a_sink_that_cannot_be_opened_loses_nothing_once_fixed(kind, tmp_path):
    directory = tmp_path / "not-yet"
    path = directory / ("a.db" if kind == "sqlite" else "a.jsonl")
    store = SQLiteStore(path) if kind == "sqlite" else JSONLStore(path)
    log = AuditLog(store, AuditSettings(durability="queued", flush_interval=0), backoff=FAST)
    with anyio.fail_after(10):
        async with log.running():
            for n in range(1, 6):
                await log.record(make_record(n))
            while log.last_error is None:
                await anyio.sleep(0.01)
            assert "not-yet" in log.last_error and log.pending == 5
            directory.mkdir()
            await log.flush()
            assert log.last_error is None
    report = await log.verify()
    assert report.ok and report.checked == 5


async def test_records_still_unwritable_at_shutdown_go_to_the_error_log(tmp_path, caplog):
    log = sqlite_log(tmp_path / "missing" / "a.db", durability="queued", shutdown_timeout=0.1)
    async with log.running():
        await log.record(make_record(1, arguments={"token": "t0ps3cret"}))
    unwritten = [r.getMessage() for r in caplog.records if "unwritten audit record" in r.getMessage()]
    assert len(unwritten) == 1 and '"call_id": "call-1"' in unwritten[0]
    assert "t0ps3cret" not in caplog.text


@pytest.mark.parametrize("kind", [SQLiteStore, JSONLStore])
async def test_two_logs_sharing_a_file_build_one_chain(kind, tmp_path):
    path = tmp_path / "shared"
    first, second = (AuditLog(kind(path), AuditSettings(flush_interval=0)) for _ in range(2))
    async with first.running(), second.running():
        for n in range(1, 41):
            await (first if n % 2 else second).record(make_record(n))
            if n % 5 == 0:
                await first.flush()
                await second.flush()
    report = await first.verify()
    assert report.ok and report.checked == 40


async def test_query_and_cost_usage(tmp_path):
    log = sqlite_log(tmp_path / "a.db")
    records = [
        make_record(1, cost=0.5),
        make_record(2, cost=1.5, server="files", tool="read", key_id="key-2"),
        make_record(3, decision="denied", outcome="denied", reason="rate_limited"),
        make_record(4, cost=2.0, team="ops", customer="globex"),
    ]
    async with log.running():
        for record in records:
            await log.record(record)
        await log.flush()
        assert [r["seq"] for r in await log.query(tool="notes/*")] == [4, 3, 1]
        assert [r["seq"] for r in await log.query(tool="files/read")] == [2]
        assert [r["seq"] for r in await log.query(decision="denied", key_id="key-1")] == [3]
        assert [r["seq"] for r in await log.query(team="eng", limit=2)] == [3, 2]
        since = datetime.fromtimestamp(T0 + 2, UTC)
        assert [r["seq"] for r in await log.query(since=since, until=T0 + 4)] == [3, 2]
        usage = await log.cost_usage(team="eng", since=T0, until=T0 + 10)
        assert usage == {
            "total": 2.0,
            "calls": 2,
            "by_tool": [
                {"tool": "files/read", "calls": 1, "cost": 1.5},
                {"tool": "notes/search", "calls": 1, "cost": 0.5},
            ],
        }
        assert (await log.cost_usage(customer="globex", since=T0, until=T0 + 10))["total"] == 2.0
        assert (await log.cost_usage(key_id="key-2", since=T0 + 3, until=T0 + 10))["calls"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tool": "notes"}, "not of the form"),
        ({"decision": "maybe"}, "'maybe'"),
        ({"since": datetime(2024, 1, 1)}, "no timezone"),
        ({"limit": 0}, "got 0"),
    ],
)
async def test_query_refuses_bad_filters(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        await sqlite_log(tmp_path / "a.db").query(**arguments)


async def test_retention_purges_on_start_and_keeps_the_chain_verifiable(tmp_path):
    path = tmp_path / "a.db"
    old = [make_record(n) for n in range(1, 4)]
    async with sqlite_log(path).running() as log:
        for record in [*old, make_record(4, time=T0 + 40 * 86_400)]:
            await log.record(record)
    now = T0 + 45 * 86_400
    log = AuditLog(SQLiteStore(path), AuditSettings(retention_days=30), clock=lambda: now)
    with anyio.fail_after(10):
        async with log.running():
            while await log.query(until=T0 + 10):
                await anyio.sleep(0.01)
    report = await log.verify()
    assert report.ok and report.checked == 1 and report.anchor.seq == 3
    assert await log.purge_expired(now=now) == 0
    assert await sqlite_log(path).purge_expired() == 0  # no retention configured: never purges


async def test_running_twice_at_once_is_refused(tmp_path):
    log = sqlite_log(tmp_path / "a.db")
    async with log.running():
        with pytest.raises(RuntimeError, match="already running"):
            async with log.running():
                pass


async def test_arguments_that_cannot_be_stored_are_dropped_and_the_writer_goes_on(tmp_path, caplog):
    cyclic: dict = {"query": "q"}
    cyclic["self"] = cyclic
    async with sqlite_log(tmp_path / "a.db").running() as log:
        await log.record(dataclasses.replace(make_record(1), arguments=cyclic))
        await log.record(make_record(2))
        await log.flush()
        rows = await log.query()
    assert [(row["call_id"], row["arguments"]) for row in rows] == [("call-2", {"query": "q2"}), ("call-1", {})]
    assert "call-1 has arguments that cannot be stored" in caplog.text
    assert (await log.verify()).ok


async def test_without_a_running_writer_a_record_is_written_by_its_caller(tmp_path, caplog):
    path = tmp_path / "a.db"
    log = sqlite_log(path)  # `running()` never entered: a host app that did not run the gateway's lifespan
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for n in range(1, 6):
                group.start_soon(log.record, make_record(n))
    assert stored_count(path) == 5 and (await log.verify()).ok
    assert caplog.text.count("is not running") == 1
