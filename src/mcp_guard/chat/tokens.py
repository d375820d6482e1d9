"""Tokens: estimates before a model call, usage after it, and token rate limits per key and team.

Limits count like the tool-call rate limits (`ratelimit.limiter.open_counter`), with weighted hits
whose cost is a number of tokens, on a sliding-window counter (O(1) whatever the weight; a moving window
would store one entry per token). Before a call the estimated prompt is hit, so concurrent requests cannot
all pass on the same room; after it the rest of the actual usage (completion, and prompt beyond the
estimate) is hit, clamped to what is left in the window: the counter is then full and the next call waits.
A prompt overestimated is not given back (the `limits` counters cannot be decremented).

A shared store (Redis) is watched by a circuit breaker as the tool-call limits' is (`breaker.py`): a store
that hangs costs one stall, then model calls are refused with 503 at once (token limits fail closed) until
a probe answers; the outage is logged once with reminders (`outage.py`), not once per call.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ..auth.principal import Principal
from ..breaker import CircuitBreaker
from ..errors import RateLimited, ServiceUnavailable
from ..outage import Outage
from ..ratelimit.limiter import open_counter, refusal_headers, seconds_until
from ..ratelimit.local import LocalSlidingWindow
from ..ratelimit.rate import Rate, parse_rate
from ..storage_url import shown_url
from .config import TokenLimitRule, TokenLimitSettings

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English and JSON with OpenAI's tokenizers


def estimate_tokens(payload: Any) -> int:
    """Tokens of a JSON-serialisable payload, estimated from its size."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one or more model turns."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total,
        }

    @classmethod
    def reported(cls, usage: Any) -> Usage | None:
        """The provider's `usage` object, if it has one."""
        if not isinstance(usage, dict):
            return None
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if not isinstance(prompt, int) or not isinstance(completion, int):
            return None
        return cls(prompt, completion)


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    config: TokenLimitRule
    rate: Rate

    def bucket(self, principal: Principal) -> str | None:
        """Whose counter, or None when the rule does not apply to this caller."""
        rule = self.config
        if (rule.key is not None and rule.key != principal.key_name) or (
            rule.team is not None and rule.team != principal.team
        ):
            return None
        return principal.key_id if rule.per == "key" else principal.team


class TokenLimiter:
    """Token limits of the chat endpoint; a caller without a principal is not limited (no key, no bucket)."""

    def __init__(self, settings: TokenLimitSettings) -> None:
        self.settings = settings
        self._strategy, self._pool = open_counter(settings.storage)
        self._rules = [_Rule(i, rule, parse_rate(rule.limit)) for i, rule in enumerate(settings.rules)]
        self.outage = Outage(logger, f"Token limit storage {shown_url(settings.storage)!r}", affected="model calls")
        strategy = self._strategy
        self._breaker = (
            None if isinstance(strategy, LocalSlidingWindow) else CircuitBreaker(self.outage.service, strategy.ping)
        )

    async def admit(self, principal: Principal | None, tokens: int) -> None:
        """Count `tokens` against every rule that applies; 429 when one has no room for them."""
        if principal is None:
            return
        strategy = self._strategy
        for rule, bucket in self._applying(principal):
            ids = self._ids(rule, bucket)
            try:
                if await self._ask(partial(strategy.hit, rule.rate, *ids, cost=tokens)):
                    continue
                reset = (await self._ask(partial(strategy.get_window_stats, rule.rate, *ids)))[0]
            except Exception as exc:  # noqa: BLE001 - any storage failure refuses (fail closed)
                self.outage.failed(exc, "refusing model calls under token limits with 503")
                raise ServiceUnavailable("Token limit storage is unavailable; the call was refused") from None
            raise _limited(rule, principal, tokens, reset)

    async def settle(self, principal: Principal | None, tokens: int) -> None:
        """Count `tokens` more (used beyond what `admit` counted), as far as each window has room."""
        if tokens <= 0:
            return
        strategy = self._strategy
        for rule, bucket in self._applying(principal):
            ids = self._ids(rule, bucket)
            try:
                room = (await self._ask(partial(strategy.get_window_stats, rule.rate, *ids)))[1]
                if room > 0:
                    await self._ask(partial(strategy.hit, rule.rate, *ids, cost=min(tokens, room)))
            except Exception as exc:  # noqa: BLE001 - the call already ran: log, never replace its answer
                self.outage.failed(exc, "not counting tokens used beyond the estimates")

    async def aclose(self) -> None:
        if self._breaker is not None:
            await self._breaker.aclose()
        if self._pool is not None:
            await self._pool.aclose()

    async def _ask(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """`operation()` on the store, through the breaker when it is a shared one; a success ends an outage."""
        result = await (operation() if self._breaker is None else self._breaker.call(operation))
        if self.outage.down:
            self.outage.recovered()
        return result

    def _applying(self, principal: Principal | None) -> list[tuple[_Rule, str]]:
        if principal is None:
            return []
        found = ((rule, rule.bucket(principal)) for rule in self._rules)
        return [(rule, bucket) for rule, bucket in found if bucket is not None]

    def _ids(self, rule: _Rule, bucket: str) -> tuple[str, ...]:
        return (self.settings.namespace, f"rule{rule.index}", bucket)


def _limited(rule: _Rule, principal: Principal, tokens: int, reset: float) -> RateLimited:
    retry_after = seconds_until(reset)
    who = f"team {principal.team!r}" if rule.config.per == "team" else f"key {principal.key_name!r}"
    limit = rule.config.limit
    return RateLimited(
        f"Token limit of {who} exceeded ({limit} tokens); this call needs about {tokens}; retry in {retry_after} s",
        headers=refusal_headers(rule.rate, retry_after),
        extra={"retry_after": retry_after, "limit": limit, "tokens": tokens},
    )
