"""A crash between a call's audit record and its booking, replayed on real stores: the hold it leaves is
found, `mcp-guard audit reconcile` reports the difference, and settling from the record removes it."""

import subprocess
import sys
import time

import pytest

from mcp_guard.audit import AuditLog, AuditSettings
from mcp_guard.audit.sqlite_store import SQLiteStore
from mcp_guard.budget.ledger import to_micros
from mcp_guard.reconcile import OrphanSweeper, compare, find_orphans, settle_orphans
from mcp_guard.reconcile.orphans import Recorded
from tests.audit.helpers import make_record
from tests.budget.conftest import charge, close_ledger, make_ledger

pytestmark = pytest.mark.anyio
TTL = 600.0
CENT = to_micros(0.01)
TEAM = "team:eng"
TIERS = [charge("customer:acme", 10.0, "1d"), charge(TEAM, 5.0, "1d")]


@pytest.fixture(params=["sqlite", "redis"])
async def ledger(request, tmp_path):
    storage = make_ledger(request.param, tmp_path, ttl=TTL)
    yield storage
    await close_ledger(storage)


async def crash_scene(ledger, log, now):
    """Four calls ten seconds ago: one booked and recorded; one recorded, never booked (the crash); one
    recorded as refunded, never released; one reserved and never recorded (it was never answered)."""
    then = now - 10
    booked = await ledger.reserve(TIERS, CENT, then, reservation="call-1")
    for n, cost, outcome in ((1, 0.01, "ok"), (2, 0.01, "ok"), (3, 0.0, "tool_error")):
        await log.record(make_record(n, time=then, cost=cost, outcome=outcome))
    await ledger.commit(booked, CENT, then)
    for n in (2, 3, 4):
        await ledger.reserve(TIERS, CENT, then, reservation=f"call-{n}")


def lookup_in(log):
    async def lookup(call_id):
        rows = await log.query(call_id=call_id, limit=1)
        return Recorded(rows[0]["decision"] == "allowed", rows[0]["cost"], rows[0]["time"]) if rows else None

    return lookup


def cost_in(log):
    async def cost_of(filters):
        return await log.cost_usage(
            team=filters.team, customer=filters.customer, since=filters.since, until=filters.until
        )

    return cost_of


async def test_holds_left_after_their_records_are_settled_as_the_records_say(ledger, tmp_path):
    now = time.time()
    async with AuditLog(SQLiteStore(tmp_path / "audit.db"), AuditSettings()).running() as log:
        await crash_scene(ledger, log, now)
        before = {row.tier: row for row in await compare(ledger, cost_in(log), now=now)}
        assert (before[TEAM].ledger, before[TEAM].audit, before[TEAM].held) == (CENT, 2 * CENT, 3 * CENT)

        recent = await find_orphans(ledger, lookup_in(log), now=now, ttl=TTL, older_than=30)
        assert recent == []  # ten seconds old: they may still be calls under way
        settled = await settle_orphans(ledger, lookup_in(log), now=now, ttl=TTL, older_than=5)
        assert (settled.committed, settled.released) == (["call-2"], ["call-3"])
        again = await settle_orphans(ledger, lookup_in(log), now=now, ttl=TTL, older_than=5)
        assert len(again) == 0  # settled once, whoever sweeps next

        after = {row.tier: row for row in await compare(ledger, cost_in(log), now=now)}
        assert (after[TEAM].ledger, after[TEAM].audit, after[TEAM].held) == (2 * CENT, 2 * CENT, CENT)
        assert after["customer:acme"].difference == 0
        assert [hold.reservation for hold in await ledger.holds()] == ["call-4"]  # no record: left to its TTL


async def test_the_sweeper_waits_for_an_audit_log(tmp_path):
    ledger = make_ledger("sqlite", tmp_path, ttl=TTL)
    await ledger.reserve(TIERS, CENT, time.time() - 60, reservation="call-1")
    try:
        sweeper = OrphanSweeper(ledger, lambda: None, ttl=TTL, every=5)
        assert len(await sweeper.sweep()) == 0
        assert len(await ledger.holds()) == 1
    finally:
        await close_ledger(ledger)


def reconcile(*args):
    command = [sys.executable, "-m", "mcp_guard.cli", "audit", "reconcile", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


async def test_the_command_lists_the_difference_and_fix_removes_it(tmp_path):
    ledger = make_ledger("sqlite", tmp_path, ttl=TTL)
    sink = f"sqlite:///{tmp_path / 'audit.db'}"
    try:
        async with AuditLog(SQLiteStore(tmp_path / "audit.db"), AuditSettings()).running() as log:
            await crash_scene(ledger, log, time.time())
    finally:
        await close_ledger(ledger)
    targets = ["--ledger", f"sqlite:///{ledger.path}", "--sink", sink]

    found = reconcile(*targets)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "hold call-2 ($0.01) was never settled; its record says book $0.01" in found.stdout
    assert "hold call-3 ($0.01) was never settled; its record says release it" in found.stdout
    assert "call-4" not in found.stdout
    assert "DIFFERENT: 0 of 2 tiers differ, 2 holds left unsettled" in found.stdout

    fixed = reconcile(*targets, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "settled 1 holds as booked and 1 as released" in fixed.stdout
    assert "OK: ledger and audit log agree on 2 tiers" in fixed.stdout


async def test_spend_without_a_record_is_a_difference(tmp_path):
    ledger = make_ledger("sqlite", tmp_path, ttl=TTL)
    try:
        await ledger.commit(await ledger.reserve(TIERS, CENT, time.time(), reservation="lost"), CENT, time.time())
    finally:
        await close_ledger(ledger)
    async with AuditLog(SQLiteStore(tmp_path / "audit.db"), AuditSettings()).running() as log:
        await log.record(make_record(1, time=time.time(), team="ops", customer="globex"))  # not these tiers'
    done = reconcile("--ledger", f"sqlite:///{ledger.path}", "--sink", f"sqlite:///{tmp_path / 'audit.db'}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIFFER: $0.01 booked without a record" in done.stdout
    assert "DIFFERENT: 2 of 2 tiers differ" in done.stdout


def test_the_command_needs_shared_storage():
    done = reconcile("--ledger", "memory://", "--sink", "memory://")
    assert done.returncode == 2 and "memory://" in done.stderr
