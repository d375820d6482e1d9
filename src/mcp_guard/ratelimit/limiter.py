"""The rate-limit stage of the pipeline, and the per-key request limit used by the middleware.

Every matching rule is hit in turn; the first that is over its limit refuses the call (429) with the
retry time. Hits already taken by earlier rules for that call stay counted: a refused attempt is still an
attempt, and it keeps the check to one atomic storage operation per rule.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.aio.strategies import RateLimiter as Strategy

from ..auth.principal import Principal
from ..caches import IdentityCache
from ..errors import ConfigError, RateLimited, ServiceUnavailable
from ..names import ToolRef
from ..outage import Outage
from ..patterns import ToolPattern
from ..storage_url import shown_url
from .config import RateLimitRule, RateLimitSettings
from .local import LocalSlidingWindow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    config: RateLimitRule
    item: RateLimitItem
    tools: ToolPattern

    def applies(self, principal: Principal | None, ref: ToolRef) -> bool:
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

    def __init__(self, settings: RateLimitSettings, *, storage: Storage | None = None) -> None:
        self.settings = settings
        self._pool: Any = None
        # The default (memory, sliding window) counts in `LocalSlidingWindow`: same decisions, 1.2 µs a hit, not 7.
        local = storage is None and settings.storage == "memory://" and settings.strategy == "sliding-window"
        if storage is None:
            storage, self._pool = open_storage(settings.storage)
        self.storage = storage
        strategy = MovingWindowRateLimiter if settings.strategy == "moving-window" else SlidingWindowCounterRateLimiter
        self._strategy: Strategy | LocalSlidingWindow = LocalSlidingWindow() if local else strategy(self.storage)
        self._rules = [
            _Rule(i, rule, parse(rule.limit), ToolPattern.parse(rule.tools)) for i, rule in enumerate(settings.rules)
        ]
        self._request_item = parse(settings.requests_per_key) if settings.requests_per_key else None
        # Walking every rule for every call cost ≈ 1 µs with one rule, more with many (0.4 µs cached); the
        # rules that apply follow from the principal and the tool alone, so they are found once per pair.
        self._counters = IdentityCache(self.counters)
        # Logged once when the storage goes, with reminders and a recovery line: not one line per call.
        self.outage = Outage(logger, f"Rate limit storage {shown_url(settings.storage)!r}")

    async def admit(self, call: Any) -> None:
        ref = call.tool.ref
        for rule, ids in self._counters.get(call.state.principal, ref):
            await self._hit(rule.item, ids, rule.config.cost, f"Tool '{ref}'", rule.config.limit)

    def counters(self, principal: Principal | None, ref: ToolRef) -> tuple[tuple[_Rule, tuple[str, str]], ...]:
        """The rules a call of `ref` by `principal` counts against, each with its counter's identifiers."""
        matching = []
        for rule in self._rules:
            bucket = rule.bucket(principal) if principal is not None else "*"
            if bucket is not None and rule.applies(principal, ref):
                matching.append((rule, (f"rule{rule.index}", bucket)))
        return tuple(matching)

    async def aclose(self) -> None:
        """Close the Redis connection pool this limiter opened (nothing to do for memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def settle(self, call: Any, token: Any, succeeded: bool) -> None:
        """Nothing to give back: a call that ran has used its share."""

    async def hit_request(self, principal: Any) -> None:
        """The per-key limit on every HTTP request (any route); no-op when not configured."""
        if self._request_item is not None and principal is not None:
            limit = self.settings.requests_per_key or ""
            await self._hit(self._request_item, ("requests", principal.key_id), 1, f"Key '{principal.key_name}'", limit)

    async def _hit(self, item: RateLimitItem, ids: tuple[str, str], cost: int, subject: str, limit: str) -> None:
        try:
            admitted = await self._strategy.hit(item, self.settings.namespace, *ids, cost=cost)
            if not admitted:
                reset, _remaining = await self._strategy.get_window_stats(item, self.settings.namespace, *ids)
        except Exception as exc:  # noqa: BLE001 - any storage failure: the configured fail-open/closed decides
            self._storage_failed(exc)
            return
        if self.outage.down:
            self.outage.recovered()
        if admitted:
            return
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"{subject} limit exceeded ({limit}); retry in {retry_after} s",
            headers=_headers(item, retry_after),
            extra={"retry_after": retry_after, "limit": limit},
        )

    def _storage_failed(self, exc: Exception) -> None:
        if self.settings.fail_open:
            self.outage.failed(exc, "admitting calls without rate limits (rate_limits.fail_open)")
            return
        self.outage.failed(exc, "refusing rate-limited calls with 503 (rate_limits.fail_open is false)")
        raise ServiceUnavailable("Rate limit storage is unavailable; the call was refused") from None


def _headers(item: RateLimitItem, retry_after: int) -> dict[str, str]:
    return {
        "Retry-After": str(retry_after),
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(retry_after),
    }


def open_storage(uri: str) -> tuple[Storage, Any]:
    """`memory://` or `redis://host:port[/db]` (also `rediss://`), and the connection pool to close later.
    Only the chosen driver is imported."""
    if uri == "memory://":
        return MemoryStorage(), None
    if uri.startswith(("redis://", "rediss://")):
        try:
            from redis.asyncio import BlockingConnectionPool
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise ConfigError(
                "rate_limits.storage: redis:// needs the 'redis' extra: pip install 'mcp-guard[redis]'"
            ) from None
        # Blocking: past 50 connections a hit waits for a free one instead of failing (a plain pool raises
        # "Too many connections", which fail-closed turns into 503s under load). One immediate retry: it
        # reconnects a pooled connection Redis dropped while idle; more would delay the verdict when Redis
        # is really gone (the client's default is ten, with backoff). A hit retried after a lost reply
        # counts twice, which errs on the side of the limit.
        pool = BlockingConnectionPool.from_url(
            uri,
            max_connections=50,
            timeout=2.0,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
        )
        # limits forwards `connection_pool` to redis-py; its annotation only lists scalar options
        storage = RedisStorage(
            f"async+{uri}",
            implementation="redispy",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]
        )
        return storage, pool
    raise ConfigError(f"rate_limits.storage: unsupported storage {uri!r}; use 'memory://' or 'redis://host:port'")
