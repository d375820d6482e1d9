"""`mcp-guard audit reconcile`: does the budget ledger agree with the audit log?

Reads the ledger and the audit store the configuration names (or `--ledger` / `--sink`), lists each
budget tier's current window with its booked spend, its recorded cost and its live holds, and the holds
a crashed process left behind with a record (`--fix` settles them as their records say, as every gateway
process also does on its own after `budgets.reconcile_after`). Exit codes: 0 the two agree, 1 they differ
(each difference is listed), 2 a store cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import anyio
import anyio.to_thread

from ..audit.backends import open_store
from ..audit.query import CostUsage, RecordFilter
from ..audit.store import AuditStore, AuditStoreError
from ..budget.guard import usd
from ..budget.ledger import DEFAULT_RESERVATION_TTL, Hold, LedgerError, to_micros
from ..budget.storage import open_ledger
from ..config import load_config
from ..errors import ConfigError
from .compare import CostLookup, TierComparison, compare
from .orphans import Recorded, RecordLookup, find_orphans, settle_orphans

MEMORY = "memory://"


def add_reconcile_command(audit_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `reconcile` to the `audit` command's subcommands."""
    parser = audit_commands.add_parser(
        "reconcile",
        help="compare budget spend with the audit log's costs, per tier, and settle holds a crash left",
    )
    parser.add_argument("config", nargs="?", help="gateway configuration naming the ledger and the audit sink")
    parser.add_argument("--ledger", metavar="URI", help="budget storage (overrides the configuration's)")
    parser.add_argument("--sink", metavar="URI", help="audit storage (overrides the configuration's)")
    parser.add_argument("--fix", action="store_true", help="settle the holds that have a record, as it says")
    parser.add_argument(
        "--older-than",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="a hold counts as left behind once this old (default 5; younger ones may be calls under way)",
    )
    parser.set_defaults(run=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    ledger_url, sink, ttl = _targets(args)
    try:
        return anyio.run(_reconcile, ledger_url, sink, ttl, args)
    except (AuditStoreError, LedgerError) as exc:
        print(f"mcp-guard audit reconcile: {exc}", file=sys.stderr)
        return 2


def _targets(args: argparse.Namespace) -> tuple[str, str, float]:
    config = load_config(args.config) if args.config else None
    ledger = args.ledger or (config.budgets.storage if config else None)
    sink = args.sink or (config.audit.sink if config else None)
    if not ledger or not sink:
        raise ConfigError("audit reconcile needs a configuration file, or both --ledger and --sink")
    if MEMORY in (ledger, sink):
        raise ConfigError("audit reconcile reads shared storage: a memory:// ledger or sink lives in its process")
    return ledger, sink, config.budgets.reservation_ttl if config else DEFAULT_RESERVATION_TTL


async def _reconcile(ledger_url: str, sink: str, ttl: float, args: argparse.Namespace) -> int:
    store = open_store(sink, create=False)
    ledger = open_ledger(ledger_url, reservation_ttl=ttl)
    try:
        lookup = _lookup(store)
        now = time.time()
        if args.fix:
            settled = await settle_orphans(ledger, lookup, now=now, ttl=ttl, older_than=args.older_than)
            print(f"settled {len(settled.committed)} holds as booked and {len(settled.released)} as released")
        orphans = await find_orphans(ledger, lookup, now=time.time(), ttl=ttl, older_than=args.older_than)
        tiers = await compare(ledger, _cost_of(store), now=time.time())
    finally:
        await ledger.aclose()
        store.close()
    return _report(tiers, orphans)


def _lookup(store: AuditStore) -> RecordLookup:
    async def lookup(call_id: str) -> Recorded | None:
        rows = await anyio.to_thread.run_sync(store.query, RecordFilter(call_id=call_id, limit=1))
        if not rows:
            return None
        record = rows[0].record
        return Recorded(record.decision == "allowed", record.cost, record.time)

    return lookup


def _cost_of(store: AuditStore) -> CostLookup:
    async def cost_of(filters: RecordFilter) -> CostUsage:
        return await anyio.to_thread.run_sync(store.cost_usage, filters)

    return cost_of


def _report(tiers: list[TierComparison], orphans: list[tuple[Hold, Recorded]]) -> int:
    for tier in tiers:
        print(
            f"{tier.tier:<32}  {_when(tier.window.start)} .. {_when(tier.window.end)}  "
            f"ledger {usd(tier.ledger):>12}  audit {usd(tier.audit):>12}  held {usd(tier.held):>10}  {_verdict(tier)}"
        )
    for hold, record in orphans:
        print(f"hold {hold.reservation} ({usd(hold.amount)}) was never settled; its record says {_said(record)}")
    if orphans:
        print(f"{len(orphans)} holds have a record but were never settled: --fix settles them as their records say")
    differing = [tier for tier in tiers if not _agrees(tier)]
    if differing or orphans:
        print(f"DIFFERENT: {len(differing)} of {len(tiers)} tiers differ, {len(orphans)} holds left unsettled")
        return 1
    print(f"OK: ledger and audit log agree on {len(tiers)} tiers")
    return 0


def _agrees(tier: TierComparison) -> bool:
    """Equal, give or take calls under way: recorded, and about to be booked from their live hold."""
    return 0 <= tier.difference <= tier.held


def _verdict(tier: TierComparison) -> str:
    if tier.difference == 0:
        return "agree"
    if _agrees(tier):
        return f"agree ({usd(tier.difference)} recorded and still held: calls being booked)"
    if tier.difference > 0:
        return f"DIFFER: {usd(tier.difference)} recorded but not booked"
    return f"DIFFER: {usd(-tier.difference)} booked without a record"


def _said(record: Recorded) -> str:
    return f"book {usd(to_micros(record.cost))}" if record.allowed and record.cost > 0 else "release it"


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
