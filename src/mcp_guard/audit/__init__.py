"""The audit trail: one record per tool call, allowed or denied, in a tamper-evident hash chain.

`AuditLog` is the sink the pipeline writes to; `AuditSettings` configures it; `RefusalLog` writes the
requests the middlewares refuse to it (capped per source); `Checkpointer` signs checkpoints over the
chain's head (`checkpointer.py`); `verify_store` checks a store's chain against its checkpoints. Storage
backends are chosen by URI (`backends.py`).
"""

from .chain import Link, SealedRecord
from .checkpoint import Checkpoint
from .checkpoint_verify import CheckedCheckpoint
from .config import AuditSettings, RefusalSettings
from .findings import Problem
from .log import AuditLog, Backoff
from .query import CostUsage, ToolCost
from .record import AuditRecord
from .refusals import RefusalLog
from .store import AuditStore, AuditStoreError
from .verify import VerifyReport, verify_chain, verify_store

__all__ = [
    "AuditLog",
    "AuditRecord",
    "AuditSettings",
    "AuditStore",
    "AuditStoreError",
    "Backoff",
    "CheckedCheckpoint",
    "Checkpoint",
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
