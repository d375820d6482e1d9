"""Audit settings as they appear in the YAML configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError
from .backends import open_store

DEFAULT_REDACT = ("password", "token", "secret", "api_key", "apikey", "authorization")


class AuditSettings(BaseModel):
    """Where the audit log goes, what it hides and how it writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sink: str = Field(
        "sqlite:///mcp-guard-audit.db",
        description="Storage URI: sqlite:///relative.db or sqlite:////absolute.db, jsonl:///path, memory://, or "
        "postgresql://user@host/db?schema=mcp_guard (shared by every process and host; the `postgres` extra).",
    )
    redact: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REDACT),
        description='Argument keys (whole name, any case, any depth) whose values are stored as "[redacted]".',
    )
    retention_days: int | None = Field(
        None, gt=0, description="Delete records older than this many days (checked hourly); omitted = keep all."
    )
    synchronous: bool = Field(
        False, description="Each call waits until its record is durably written, instead of only queued."
    )
    queue_size: int = Field(
        10_000, gt=0, description="Records waiting to be written; when full, calls wait (nothing is dropped)."
    )
    batch_size: int = Field(500, gt=0, description="Most records written in one transaction.")
    flush_interval: float = Field(
        0.2, ge=0, description="Seconds the writer waits to gather a batch before writing what it has."
    )
    shutdown_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds shutdown waits for queued records to be written; any left are logged, not dropped.",
    )

    @field_validator("sink")
    @classmethod
    def _valid_sink(cls, value: str) -> str:
        try:
            open_store(value).close()  # builds the store without opening it: checks scheme, form and driver
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value
