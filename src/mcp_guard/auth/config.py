"""Roles, teams, customers and keys as they appear in the YAML configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..budget.config import BudgetConfig
from ..codemode.settings import check_limit_overrides
from ..patterns import ToolPattern
from .keys import HASH_PATTERN
from .oauth.config import OAuthSettings


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_LIMITS_DESCRIPTION = (
    "Code Mode per-run limits for these callers, by the names of `code_mode:` (timeout_seconds, cpu_seconds, "
    "memory_limit_bytes, process_memory_bytes, max_tool_calls, ...); see docs/code-mode.md for how roles, "
    "team and key combine."
)


def _code_mode_limits() -> Any:
    return Field(None, description=_LIMITS_DESCRIPTION)


def _check_patterns(value: list[str]) -> list[str]:
    for text in value:
        ToolPattern.parse(text)
    return value


class RoleConfig(_Model):
    """What holders of a role may use."""

    tools: list[str] = Field(default_factory=list, description="Tool patterns the role grants (`server/*`, `*`).")
    resources: list[str] = Field(
        default_factory=list,
        description="Resource patterns the role grants: `server/<URI glob>` (`docs/file:///public/*`), `server/*`, "
        "`*`. They cover resource templates and completions of their arguments too. None unless listed.",
    )
    prompts: list[str] = Field(
        default_factory=list, description="Prompt patterns the role grants (`server/name`, `server/*`, `*`)."
    )
    admin: bool = Field(False, description="Holders may use the admin endpoints (keys, audit, analytics).")
    code_mode_limits: dict[str, float] | None = _code_mode_limits()

    _patterns = field_validator("tools")(_check_patterns)
    _limits = field_validator("code_mode_limits")(check_limit_overrides)

    @field_validator("resources", "prompts")
    @classmethod
    def _item_patterns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = "resource" if info.field_name == "resources" else "prompt"
        for text in value:
            ToolPattern.parse(text, kind)
        return value

    def grants(self) -> list[str]:
        """Every pattern the role grants, resources and prompts with their kind prefix (`patterns.py`)."""
        return [*self.tools, *(f"resource:{p}" for p in self.resources), *(f"prompt:{p}" for p in self.prompts)]


class CustomerConfig(_Model):
    budget: BudgetConfig | None = Field(None, description="Spend limit shared by all the customer's teams.")


class _ToolGrants(_Model):
    """Tool patterns a team or a key adds to what its roles grant (`allow`) or takes away (`deny`)."""

    allow: list[str] = Field(
        default_factory=list,
        description="Patterns granted beyond the roles: tools, `resource:server/<URI glob>`, `prompt:server/name`.",
    )
    deny: list[str] = Field(
        default_factory=list, description="Patterns refused, whatever grants them (tools, `resource:…`, `prompt:…`)."
    )

    _patterns = field_validator("allow", "deny")(_check_patterns)


class TeamConfig(_ToolGrants):
    """A team: its `allow`/`deny` apply to every key of the team."""

    customer: str | None = Field(None, description="The customer the team belongs to.")
    budget: BudgetConfig | None = Field(None, description="Spend limit shared by the team's keys.")
    code_mode: bool = Field(False, description="The team's keys see every tool through Code Mode.")
    code_mode_limits: dict[str, float] | None = _code_mode_limits()

    _limits = field_validator("code_mode_limits")(check_limit_overrides)


class KeyConfig(_ToolGrants):
    """A virtual key defined in the configuration (create one with `mcp-guard keys create`); its own
    `allow`/`deny` apply on top of its roles and team."""

    name: str = Field(min_length=1, max_length=100, description="Unique name, shown in audit and errors.")
    hash: str = Field(description="`sha256:<hex>` of the key; the key itself is never stored.")
    roles: list[str] = Field(default_factory=list, description="Role names; they must exist under `roles`.")
    team: str | None = Field(None, description="Team name; it must exist under `teams`.")
    customer: str | None = Field(None, description="Customer; defaults to the team's customer.")
    active: bool = Field(True, description="An inactive key is refused.")
    expires_at: datetime | None = Field(None, description="After this instant (ISO 8601) the key is refused.")
    budget: BudgetConfig | None = Field(None, description="Spend limit of this key alone.")
    code_mode: bool = Field(False, description="This key's callers see every tool through Code Mode.")
    code_mode_limits: dict[str, float] | None = _code_mode_limits()

    _limits = field_validator("code_mode_limits")(check_limit_overrides)

    @field_validator("hash")
    @classmethod
    def _valid_hash(cls, value: str) -> str:
        if not HASH_PATTERN.match(value):
            raise ValueError("expected 'sha256:' followed by 64 lowercase hex digits (see `mcp-guard keys create`)")
        return value


class AuthSettings(_Model):
    store: str = Field(
        "sqlite:///mcp-guard-keys.db",
        description="Runtime key store managed through the admin endpoints: sqlite:///path, memory://, or "
        "postgresql://user@host/db?schema=mcp_guard (shared by every host; the `postgres` extra).",
    )
    cache_seconds: float = Field(
        1.0,
        ge=0,
        description="How long a looked-up runtime key is cached; bounds how late other processes "
        "see a deactivation (this process sees it at once). With postgresql://, how old each process's "
        "replica of the keys may get before the store counts as unreachable.",
    )
    fail_open: bool = Field(
        False,
        description="postgresql:// only: when the store has been unreachable for longer than cache_seconds, "
        "false (default) refuses runtime keys with 503; true keeps accepting the last known ones.",
    )
    user_header: str = Field("x-mcp-user", description="Header naming the end user, recorded for attribution only.")
    oauth: OAuthSettings | None = Field(
        None, description="Accept OAuth 2.1 access tokens from identity providers (docs/oauth.md)."
    )
