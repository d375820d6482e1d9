"""Settings of the chat endpoint, agent mode and confirmations, as they appear in the YAML configuration.

llm:
  providers:
    openai:
      base_url: https://api.openai.com/v1
      api_key_env: OPENAI_API_KEY
      models: [gpt-4.1, gpt-4.1-mini]
      pricing: {gpt-4.1: {input: 2.0, output: 8.0}}
      budget: {limit: 500, period: 1M}
  token_limits:
    rules: [{limit: 200000/hour}, {team: marketing, per: team, limit: 1000000/day}]
agent:
  max_depth: 10
  keys: {eng-bot: ["database/*"]}
confirmations: {ttl_seconds: 300}
sampling:
  models: [openai/gpt-4.1-mini, openai/gpt-4.1]
  max_tokens: 1024
"""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..budget.config import BudgetConfig
from ..patterns import PatternSet
from ..ratelimit.config import check_limit

Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(_Model):
    """What one model costs, in the budget currency (USD) per million tokens."""

    input: Price = Field(description="Per million prompt (input) tokens.")
    output: Price = Field(description="Per million completion (output) tokens.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


class ProviderConfig(_Model):
    """One OpenAI-compatible LLM provider, reached as `<provider>/<model>` in a request's `model`."""

    base_url: str = Field(description="The API root, e.g. `https://api.openai.com/v1` (`/chat/completions` is added).")
    api_key_env: str | None = Field(
        None, description="Environment variable holding the provider's API key; omitted = no Authorization header."
    )
    models: list[str] | None = Field(
        None, description="Model names (globs) callers may use; omitted = any model the provider serves."
    )
    pricing: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Model name (or glob) → price per million input/output tokens; an exact name beats a glob. "
        "A model priced nowhere costs nothing.",
    )
    budget: BudgetConfig | None = Field(None, description="The provider tier: all spend on this provider.")
    max_output_tokens: int = Field(
        4096,
        gt=0,
        description="Completion tokens a request that names no `max_tokens`/`max_completion_tokens` is "
        "assumed to use when its cost is reserved before the call.",
    )
    timeout: float = Field(120.0, gt=0, description="Seconds one model call may take.")

    def allows(self, model: str) -> bool:
        return self.models is None or any(fnmatch.fnmatchcase(model, glob) for glob in self.models)

    def price(self, model: str) -> ModelPrice | None:
        if model in self.pricing:
            return self.pricing[model]
        return next((p for glob, p in self.pricing.items() if fnmatch.fnmatchcase(model, glob)), None)


class TokenLimitRule(_Model):
    """Tokens (prompt + completion) a key or a team may use per period. Applies when every selector given
    matches the caller."""

    limit: str = Field(description="Tokens per period in the `limits` notation, e.g. `200000/hour`.")
    key: str | None = Field(None, description="Only for this key name.")
    team: str | None = Field(None, description="Only for keys of this team.")
    per: Literal["key", "team"] = Field("key", description="key: one counter per key; team: shared by a team.")

    _valid_limit = field_validator("limit")(lambda value: check_limit(value))


class TokenLimitSettings(_Model):
    storage: str = Field("memory://", description="memory:// (one process) or redis://host:port (shared).")
    namespace: str = Field("mcpg-tokens", min_length=1, description="Prefix of the token counters.")
    rules: list[TokenLimitRule] = Field(default_factory=list, description="Token limits.")


class LLMSettings(_Model):
    """Upstream LLM providers for `POST /v1/chat/completions`."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict, description="Provider name → settings.")
    token_limits: TokenLimitSettings = Field(default_factory=TokenLimitSettings, description="Tokens per period.")

    @field_validator("providers")
    @classmethod
    def _names(cls, value: dict[str, ProviderConfig]) -> dict[str, ProviderConfig]:
        for name in value:
            if not _PROVIDER_NAME.match(name):
                raise ValueError(f"provider name {name!r} must be 1-48 of A-Z a-z 0-9 _ . - (no '/')")
        return value

    def resolve(self, model: object) -> tuple[str, str, ProviderConfig]:
        """(provider, model, its settings) of a `<provider>/<model>` reference; ValueError naming the
        configured providers or the allowed models when nothing configured serves it."""
        configured = ", ".join(sorted(self.providers)) or "none (configure llm.providers)"
        provider, _, name = model.partition("/") if isinstance(model, str) else ("", "", "")
        if not provider or not name:
            raise ValueError(f"'model' must be '<provider>/<model>', got {model!r}; configured providers: {configured}")
        config = self.providers.get(provider)
        if config is None:
            raise ValueError(f"Unknown provider {provider!r} in model {model!r}; configured providers: {configured}")
        if not config.allows(name):
            allowed = ", ".join(config.models or [])
            raise ValueError(f"Model {name!r} is not offered through provider {provider!r}; allowed: {allowed}")
        return provider, name, config


class SamplingSettings(_Model):
    """Sampling the gateway fulfils itself (servers with `sampling: gateway` or `auto`): an upstream's
    `sampling/createMessage` answered by a model of `llm.providers`, on the budget of the caller whose call
    caused it (`chat/sampling.py`)."""

    models: list[str] = Field(
        default_factory=list,
        description="`<provider>/<model>` references the gateway samples with. The first is used unless a "
        "request's model hints (`modelPreferences.hints`, in order) name part of another one.",
    )
    max_tokens: int = Field(
        1024, gt=0, description="Most completion tokens one request may use; a larger `maxTokens` is lowered to this."
    )


class AgentSettings(_Model):
    """Agent mode: which tool calls run without approval, and how long the loop may go on."""

    max_depth: int = Field(10, ge=1, le=100, description="Rounds of auto-executed tool calls per request.")
    keys: dict[str, list[str]] = Field(
        default_factory=dict, description="Key name → tool patterns that key may have run unasked."
    )
    teams: dict[str, list[str]] = Field(
        default_factory=dict, description="Team name → tool patterns its keys may have run unasked."
    )

    @field_validator("keys", "teams")
    @classmethod
    def _patterns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in value.values():
            PatternSet(patterns)  # raises ValueError naming a malformed pattern
        return value


class ConfirmationSettings(_Model):
    """Destructive tools: a first call is refused with 409 and a confirmation id; repeating it with
    `x-mcp-confirm: <id>` (same key, same tool, same arguments) runs it."""

    destructive_hint: bool = Field(
        True, description="Tools with the MCP `destructiveHint` (and not `readOnlyHint`) need confirmation."
    )
    ttl_seconds: float = Field(300.0, gt=0, allow_inf_nan=False, description="How long a confirmation id is valid.")
    storage: str = Field(
        "memory://",
        description="Where pending confirmations are kept: memory:// (one process) or redis://host:port/db"
        "[?prefix=NAME] (shared by every process: an id issued by one is accepted by any other, once).",
    )

    @field_validator("storage")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if value != "memory://" and not value.startswith(("redis://", "rediss://")):
            raise ValueError("expected 'memory://' or 'redis://host:port'")
        return value
