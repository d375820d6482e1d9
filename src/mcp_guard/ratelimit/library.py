"""Counting with the `limits` library: a Redis shared by gateway processes, or the moving window.

Imported only when the configuration asks for one of them (the default, `memory://` with the sliding
window, counts in `local.py`), so a gateway that does not use the library never loads it.
"""

from __future__ import annotations

from typing import Any, Literal

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.util import WindowStats

from ..errors import ConfigError
from .rate import Rate


class LibraryCounter:
    """A `limits` strategy over `storage`, taking `Rate`s like `LocalSlidingWindow`."""

    def __init__(self, storage: Storage, strategy: Literal["sliding-window", "moving-window"]) -> None:
        kind = MovingWindowRateLimiter if strategy == "moving-window" else SlidingWindowCounterRateLimiter
        self._strategy = kind(storage)
        self._items: dict[Rate, RateLimitItem] = {}

    async def hit(self, rate: Rate, *identifiers: str, cost: int = 1) -> bool:
        return await self._strategy.hit(self._item(rate), *identifiers, cost=cost)

    async def get_window_stats(self, rate: Rate, *identifiers: str) -> WindowStats:
        return await self._strategy.get_window_stats(self._item(rate), *identifiers)

    async def ping(self) -> None:
        """One round trip to the storage; `ConnectionError` when it does not answer."""
        if not await self._strategy.storage.check():
            raise ConnectionError("the rate limit storage did not answer PING")

    def _item(self, rate: Rate) -> RateLimitItem:
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = rate.item()
        return item


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
