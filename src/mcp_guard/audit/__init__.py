"""The audit trail: one record per tool call, allowed or denied."""

from .record import AuditRecord

__all__ = ["AuditRecord"]
