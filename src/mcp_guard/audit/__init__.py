"""The audit trail: one record per tool call, allowed or denied, in a tamper-evident hash chain.

`AuditLog` is the sink the pipeline writes to; `AuditSettings` configures it; `RefusalLog` writes the
requests the middlewares refuse to it (capped per source); `verify_store` checks a store's chain. Storage
backends are chosen by URI (`backends.py`).
"""

from .chain import Link, SealedRecord
from .config import AuditSettings, RefusalSettings
from .log import AuditLog, Backoff
from .query import CostUsage, ToolCost
from .record import AuditRecord
from .refusals import RefusalLog
from .store import AuditStore, AuditStoreError
from .verify import Problem, VerifyReport, verify_chain, verify_store

__all__ = [
    "AuditLog",
    "AuditRecord",
    "AuditSettings",
    "AuditStore",
    "AuditStoreError",
    "Backoff",
    "CostUsage",
    "Link",
    "Problem",
    "RefusalLog",
    "RefusalSettings",
    "SealedRecord",
    "ToolCost",
    "VerifyReport",
    "verify_chain",
    "verify_store",
]
