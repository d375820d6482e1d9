"""The rate-limit stage of the pipeline, and the per-key request limit used by the middleware.

Every matching rule is hit in turn; the first that is over its limit refuses the call (429) with the
retry time. Hits already taken by earlier rules for that call stay counted: a refused attempt is still an
attempt, and it keeps the check to one atomic storage operation per rule.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..auth.principal import Principal
from ..breaker import CircuitBreaker
from ..caches import IdentityCache
from ..errors import RateLimited, ServiceUnavailable
from ..names import Ref, described
from ..outage import Outage
from ..patterns import ToolPattern
from ..storage_url import shown_url
from .config import RateLimitRule, RateLimitSettings
from .local import LocalSlidingWindow
from .rate import Rate, parse_rate

if TYPE_CHECKING:
    from .library import LibraryCounter

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def open_counter(
    storage: str, strategy: Literal["sliding-window", "moving-window"] = "sliding-window"
) -> tuple[LocalSlidingWindow | LibraryCounter, Any]:
    """Where hits are counted, and the connection pool to close later (None for memory). The default
    (`memory://`, sliding window) counts in `LocalSlidingWindow`: the same decisions as `limits`, 1.2 µs a
    hit instead of 7, and the library is never imported. Anything else counts with `limits`."""
    if storage == "memory://" and strategy == "sliding-window":
        return LocalSlidingWindow(), None
    from .library import LibraryCounter, open_storage

    store, pool = open_storage(storage)
    return LibraryCounter(store, strategy), pool


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    config: RateLimitRule
    rate: Rate
    tools: ToolPattern

    def applies(self, principal: Principal | None, ref: Ref) -> bool:
        rule = self.config
        if principal is None:
            return rule.per == "global" and not (rule.key or rule.role or rule.team) and self.tools.matches(ref)
        return (
            (rule.key is None or rule.key == principal.key_name)
            and (rule.role is None or rule.role in principal.roles)
            and (rule.team is None or rule.team == principal.team)
            and self.tools.matches(ref)
        )

    def bucket(self, principal: Principal) -> str | None:
        """Whose counter: None when the rule is per team and the key has no team (it then does not apply)."""
        per = self.config.per
        if per == "global":
            return "*"
        return principal.key_id if per == "key" else principal.team


class RateLimiter:
    """Implements the pipeline's `CallGuard` protocol."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._counter, self._pool = open_counter(settings.storage, settings.strategy)
        self._take_rules(settings)
        # Logged once when the storage goes, with reminders and a recovery line: not one line per call.
        self.outage = Outage(logger, f"Rate limit storage {shown_url(settings.storage)!r}")
        # A shared storage that hangs is not waited for on every call (`breaker.py`); memory never fails.
        counter = self._counter
        self._breaker = (
            None if isinstance(counter, LocalSlidingWindow) else CircuitBreaker(self.outage.service, counter.ping)
        )

    def reconfigure(self, settings: RateLimitSettings) -> None:
        """New rules and request limit (a reloaded file); the storage stays the one opened at start-up."""
        self.settings = self.settings.model_copy(
            update={"rules": settings.rules, "requests_per_key": settings.requests_per_key}
        )
        self._take_rules(self.settings)

    def _take_rules(self, settings: RateLimitSettings) -> None:
        self._rules = [
            _Rule(i, rule, parse_rate(rule.limit), ToolPattern.parse(rule.tools))
            for i, rule in enumerate(settings.rules)
        ]
        self._request_rate = parse_rate(settings.requests_per_key) if settings.requests_per_key else None
        # Walking every rule for every call cost ≈ 1 µs with one rule, more with many (0.4 µs cached); the
        # rules that apply follow from the principal and the tool alone, so they are found once per pair.
        self._counters = IdentityCache(self.counters)

    async def admit(self, call: Any) -> None:
        ref = call.ref
        for rule, ids in self._counters.get(call.state.principal, ref):
            await self._hit(rule.rate, ids, rule.config.cost, described(ref), rule.config.limit)

    def counters(self, principal: Principal | None, ref: Ref) -> tuple[tuple[_Rule, tuple[str, str]], ...]:
        """The rules a call of `ref` by `principal` counts against, each with its counter's identifiers."""
        matching = []
        for rule in self._rules:
            bucket = rule.bucket(principal) if principal is not None else "*"
            if bucket is not None and rule.applies(principal, ref):
                matching.append((rule, (f"rule{rule.index}", bucket)))
        return tuple(matching)

    async def aclose(self) -> None:
        """Close the Redis connection pool this limiter opened (nothing to do for memory)."""
        if self._breaker is not None:
            await self._breaker.aclose()
        if self._pool is not None:
            await self._pool.aclose()

    async def settle(self, call: Any, token: Any, succeeded: bool) -> None:
        """Nothing to give back: a call that ran has used its share."""

    async def hit_request(self, principal: Any) -> None:
        """The per-key limit on every request the middlewares govern; no-op when not configured."""
        if self._request_rate is not None and principal is not None:
            limit = self.settings.requests_per_key or ""
            await self._hit(self._request_rate, ("requests", principal.key_id), 1, f"Key '{principal.key_name}'", limit)

    async def hit_route(self, principal: Principal, rate: Rate, route: str) -> None:
        """A per-key limit on one host-app route (`routes.RouteRule.rate`), counted apart from the others."""
        await self._hit(rate, (f"route:{route}", principal.key_id), 1, f"Route '{route}'", str(rate))

    async def _hit(self, rate: Rate, ids: tuple[str, str], cost: int, subject: str, limit: str) -> None:
        namespace, counter, breaker = self.settings.namespace, self._counter, self._breaker
        try:
            if breaker is None:
                admitted = await counter.hit(rate, namespace, *ids, cost=cost)
            else:
                admitted = await breaker.call(lambda: counter.hit(rate, namespace, *ids, cost=cost))
            if not admitted:
                reset, _remaining = await self._ask(lambda: counter.get_window_stats(rate, namespace, *ids))
        except Exception as exc:  # noqa: BLE001 - any storage failure: the configured fail-open/closed decides
            self._storage_failed(exc)
            return
        if self.outage.down:
            self.outage.recovered()
        if admitted:
            return
        retry_after = seconds_until(reset)
        raise RateLimited(
            f"{subject} limit exceeded ({limit}); retry in {retry_after} s",
            headers=refusal_headers(rate, retry_after),
            extra={"retry_after": retry_after, "limit": limit},
        )

    async def _ask(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        breaker = self._breaker
        return await (operation() if breaker is None else breaker.call(operation))

    def _storage_failed(self, exc: Exception) -> None:
        if self.settings.fail_open:
            self.outage.failed(exc, "admitting calls without rate limits (rate_limits.fail_open)")
            return
        self.outage.failed(exc, "refusing rate-limited calls with 503 (rate_limits.fail_open is false)")
        raise ServiceUnavailable("Rate limit storage is unavailable; the call was refused") from None


def seconds_until(reset: float) -> int:
    """Whole seconds until `reset` (epoch seconds), at least 1: what `Retry-After` says."""
    return max(1, math.ceil(reset - time.time()))


def refusal_headers(rate: Rate, retry_after: int) -> dict[str, str]:
    """The headers of a 429 for `rate` (the tool-call, request and token limits alike)."""
    return {
        "Retry-After": str(retry_after),
        "RateLimit-Limit": str(rate.amount),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(retry_after),
    }
