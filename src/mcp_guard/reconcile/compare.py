"""Each tier's spend as the ledger counts it, against the cost the audit log records for it.

The ledger keeps, per tier, the spend of its current budget window only (that is what a budget enforces),
so that window is the period compared: the ledger's `spent` against the cost of the allowed calls the
audit log holds for the tier with a time in `[window start, window end)`. They are equal when every
booked call has its record and every record its booking: the pipeline books at the record's time, so a
call never falls into a different window on each side. Live holds are shown apart: a call under way (or
orphaned by a crash and not yet settled: `orphans.py`) has its record but not yet its booking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from ..audit.query import CostUsage, RecordFilter
from ..budget.ledger import LedgerStorage, to_micros
from ..budget.periods import Window
from ..chat.metering import LLM_SERVER

CostLookup = Callable[[RecordFilter], Awaitable[CostUsage]]


@dataclass(frozen=True, slots=True)
class TierComparison:
    """One tier in its current window; amounts in micro-units."""

    tier: str  # the ledger's key: `customer:acme`, `team:eng`, `key:<key id>`, `provider:openai`
    window: Window
    ledger: int  # booked spend
    audit: int  # cost of the allowed calls recorded
    held: int  # live holds: calls under way, or orphans not yet settled

    @property
    def difference(self) -> int:
        """Recorded minus booked: positive when records show spend the ledger has not booked."""
        return self.audit - self.ledger


def tier_filter(tier: str, window: Window) -> tuple[RecordFilter, str | None] | None:
    """The records of `tier` in `window`, and the `server/tool` prefix they must have (provider tiers);
    None for a ledger key that is not a budget tier (alert claims)."""
    kind, _, ident = tier.partition(":")
    span = RecordFilter(since=window.start, until=window.end)
    if kind == "customer":
        return replace(span, customer=ident), None
    if kind == "team":
        return replace(span, team=ident), None
    if kind == "key":
        return replace(span, key_id=ident), None
    if kind == "provider":
        return replace(span, server=LLM_SERVER), f"{LLM_SERVER}/{ident}/"
    return None


def audit_cost(usage: CostUsage, prefix: str | None) -> int:
    """The recorded cost in micro-units, of the tools under `prefix` only when given."""
    if prefix is None:
        return to_micros(usage["total"])
    return to_micros(sum(item["cost"] for item in usage["by_tool"] if item["tool"].startswith(prefix)))


async def compare(ledger: LedgerStorage, cost_of: CostLookup, *, now: float) -> list[TierComparison]:
    """Every budget tier the ledger counts, with an open window, compared with the audit log."""
    compared = []
    for tier, usage in sorted((await ledger.tiers(now)).items()):
        if usage.window is None:  # a rolling window that has ended: nothing is spent in an open one
            continue
        selected = tier_filter(tier, usage.window)
        if selected is None:
            continue
        filters, prefix = selected
        recorded = audit_cost(await cost_of(filters), prefix)
        compared.append(TierComparison(tier, usage.window, usage.spent, recorded, usage.reserved))
    return compared
