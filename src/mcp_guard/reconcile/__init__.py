"""Ledger and audit log in agreement: what a crash between a call's record and its booking leaves is settled,
and an operator can compare the two.

The pipeline writes a call's audit record before it books the call's cost, and names the budget hold after
the call (`pipeline.py`). So the only thing a crash can leave between the two is a hold whose record is
already stored: `settle_orphans` books it as the record says (or releases it when the record says the call
was refunded), in every gateway process, every `budgets.reconcile_after` seconds (`OrphanSweeper`). A hold
without a record is a call that was never answered (with `audit.durability: commit`): its TTL reclaims it.

`compare` sets each tier's spend in its current budget window, as the ledger counts it, against the cost
of the allowed calls the audit log holds for that tier in the same window; `mcp-guard audit reconcile`
prints it (`cli.py`).
"""

from .compare import TierComparison, audit_cost, compare, tier_filter
from .orphans import OrphanSweeper, Recorded, Settled, find_orphans, settle_orphans

__all__ = [
    "OrphanSweeper",
    "Recorded",
    "Settled",
    "TierComparison",
    "audit_cost",
    "compare",
    "find_orphans",
    "settle_orphans",
    "tier_filter",
]
