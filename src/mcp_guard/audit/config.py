"""Audit settings as they appear in the YAML configuration."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError
from ..ratelimit.rate import parse_rate
from .backends import open_store

DEFAULT_REDACT = ("password", "token", "secret", "api_key", "apikey", "authorization")


class RefusalSettings(BaseModel):
    """How many records of requests refused at the door without a usable key are written (`refusals.py`);
    the rest are counted, and the count is recorded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_source: str = Field(
        "60/minute",
        description="Records per client address: as many at once, refilled evenly over the period (per process).",
    )
    total: str = Field("3000/minute", description="Records from all sources together, the same way (per process).")
    sources: int = Field(10_000, gt=0, description="Client addresses tracked at once; the least recent are forgotten.")
    report_every: float = Field(
        60.0, gt=0, description="Seconds between log lines reporting refusals not recorded (only when there were)."
    )

    @field_validator("per_source", "total")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)  # ValueError naming the problem
        return value


class CheckpointSettings(BaseModel):
    """Signed checkpoints over the chain's head (`docs/governance.md`, "Checkpoints"). The key is read from
    a file or an environment variable when the gateway starts; it is never written in the configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_file: str | None = Field(
        None, description="File holding the key: an Ed25519 private key (PEM) or an HMAC secret (32+ bytes)."
    )
    key_env: str | None = Field(None, description="Name of an environment variable holding the key instead.")
    every_records: int = Field(1000, gt=0, description="Sign a checkpoint once the head is this many records on.")
    every_seconds: float = Field(
        60.0, gt=0, description="Or once this many seconds passed since the last one (if the head moved)."
    )
    copy_to: str | None = Field(
        None, description="Also append each checkpoint (JSON lines) to this file: keep it on another disk or host."
    )
    webhook: str | None = Field(
        None, description="Also POST each checkpoint as JSON to this http(s) URL (best effort, never retried)."
    )
    webhook_timeout: float = Field(5.0, gt=0, description="Seconds a webhook POST may take.")

    @model_validator(mode="after")
    def _one_key(self) -> CheckpointSettings:
        if (self.key_file is None) == (self.key_env is None):
            raise ValueError("give exactly one of key_file and key_env")
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise ValueError(f"webhook {self.webhook!r} must be an http:// or https:// URL")
        return self


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
    durability: Literal["commit", "queued"] = Field(
        "commit",
        description="commit: a call is answered only once its record is committed (group commit: one "
        "transaction per batch of concurrent calls); queued: answered once the record is queued in memory, "
        "faster, but a crash (kill -9, power cut) may lose the last records of answered calls.",
    )
    queue_size: int = Field(
        10_000, gt=0, description="Records waiting to be written; when full, calls wait (nothing is dropped)."
    )
    batch_size: int = Field(500, gt=0, description="Most records written in one transaction.")
    flush_interval: float = Field(
        0.2,
        ge=0,
        description="With durability: queued, seconds the writer waits to gather a batch before writing it "
        "(with commit it never waits: a batch is what arrived while the previous one was being committed).",
    )
    refusals: RefusalSettings = Field(
        default_factory=RefusalSettings,
        description="The cap on records of requests refused without a usable key (unknown, missing, inactive).",
    )
    checkpoints: CheckpointSettings | None = Field(
        None, description="Signed checkpoints over the chain's head, so a cut end or a re-sealed chain is found."
    )
    shutdown_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds shutdown waits for queued records to be written; any left are logged, not dropped.",
    )

    @model_validator(mode="before")
    @classmethod
    def _synchronous_alias(cls, data: Any) -> Any:
        """`synchronous: true|false`, the older spelling, means `durability: commit|queued`."""
        if isinstance(data, dict) and "synchronous" in data:
            data = dict(data)
            synchronous = data.pop("synchronous")
            if not isinstance(synchronous, bool):
                raise ValueError(f"synchronous must be true or false, got {synchronous!r}")
            wanted = "commit" if synchronous else "queued"
            if data.setdefault("durability", wanted) != wanted:
                raise ValueError(f"synchronous: {synchronous} contradicts durability: {data['durability']!r}")
        return data

    @property
    def synchronous(self) -> bool:
        """True when each call waits for its record's commit (`durability: commit`)."""
        return self.durability == "commit"

    @field_validator("sink")
    @classmethod
    def _valid_sink(cls, value: str) -> str:
        try:
            open_store(value).close()  # builds the store without opening it: checks scheme, form and driver
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value
