"""Rate limit rules as they appear in the YAML configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..patterns import ToolPattern
from .rate import parse_rate


def check_limit(value: str) -> str:
    parse_rate(value)  # its ValueError names the problem; pydantic reports it against the field
    return value


class RateLimitRule(BaseModel):
    """One limit. It applies to a call when every selector given (`key`, `role`, `team`) matches the caller
    and `tools` matches the tool; `per` says whose counter it uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: str = Field(description="e.g. `100/minute`, `1000/hour`, `10/second` (the `limits` notation).")
    tools: str = Field("*", description="Tool pattern the rule counts (`server/*`, `server/tool`, `*`).")
    key: str | None = Field(None, description="Only for this key name.")
    role: str | None = Field(None, description="Only for keys holding this role.")
    team: str | None = Field(None, description="Only for keys of this team.")
    per: Literal["key", "team", "global"] = Field(
        "key", description="key: one counter per key; team: shared by a team; global: one counter for all."
    )
    cost: int = Field(1, ge=1, description="Weight of one call (a heavy tool may count as several).")

    _valid_limit = field_validator("limit")(lambda value: check_limit(value))

    @field_validator("tools")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        ToolPattern.parse(value)
        return value


class RateLimitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    storage: str = Field("memory://", description="memory:// (one process) or redis://host:port (shared).")
    strategy: Literal["sliding-window", "moving-window"] = Field(
        "sliding-window", description="sliding-window: approximate, O(1); moving-window: exact, stores each hit."
    )
    fail_open: bool = Field(
        False, description="When the storage is unreachable: true admits calls, false refuses them (503)."
    )
    requests_per_key: str | None = Field(
        None,
        description="Limit on every request of a key to the gateway (its mount, and the host app routes it governs).",
    )
    rules: list[RateLimitRule] = Field(default_factory=list, description="Tool-call limits.")
    namespace: str = Field(
        "mcpg", min_length=1, description="Prefix of the counters (separates deployments sharing a Redis)."
    )

    _valid_request_limit = field_validator("requests_per_key")(lambda value: value and check_limit(value))
