"""A ledger in Redis, shared by every gateway process and host: `redis://host:port/db?prefix=NAME`.

Atomicity: each operation is one Lua script (`redis_scripts.py`), and Redis runs a script from its first
read to its last write with no other command in between. So `reserve` checks every tier and then holds the
amount at all of them in one step, exactly the rule `admit_charge` states, and `commit` / `release` drop
a reservation's holds (and book its spend) in one step too. No lock is held anywhere, in Python or Redis.

Holds expire after `reservation_ttl`: every `reserve` and `spent` first reclaims the holds whose time has
passed, as the other backends do (the times are the gateway's clock, passed in, never Redis's).

The client retries a command once, at once, when its connection fails: a pooled connection that Redis
(or the network) dropped while it was idle fails on first use, and the retry reconnects. That is safe
because every script may run twice: `reserve` is idempotent (the reservation id is chosen here, and a
second run finds it held), and `commit` / `release` find nothing left to do the second time. More retries
would only delay the refusal while Redis is really gone.

`prefix` (default `mcpg:budget`) names the keys, so several deployments can share one Redis. Only the
scheme, host, port and database appear in logs and errors, never a password.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, get_args
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ...breaker import CircuitBreaker, CircuitOpen
from ...errors import ConfigError
from ...storage_url import shown_url, split_options
from ..config import Period
from ..ledger import DEFAULT_RESERVATION_TTL, Charge, Hold, TierExceeded, TierUsage, check_commit, stored_counter
from ..periods import PeriodRule
from . import redis_scripts
from .shared import SharedLedger

if TYPE_CHECKING:
    from ..ledger import Counter

DEFAULT_PREFIX = "mcpg:budget"
CONNECT_TIMEOUT = 1.0  # seconds; an unreachable Redis refuses calls quickly instead of holding them
COMMAND_TIMEOUT = 2.0
POOL_SIZE = 50  # connections per process; more concurrent operations wait for one (at most COMMAND_TIMEOUT)
_RULES = tuple(PeriodRule(period, calendar) for period in get_args(Period) for calendar in (False, True))
_T = TypeVar("_T")


class RedisLedger(SharedLedger):
    """Counters and holds in four Redis keys (see the module docstring for how it stays atomic)."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        name: str = "redis",
    ) -> None:
        super().__init__(name, reservation_ttl)
        self.client = client
        self.prefix = prefix
        tag = "{" + prefix + "}"  # a hash tag: the four keys share one cluster slot, as scripts need
        self.keys = [f"{tag}:counters", f"{tag}:reserved", f"{tag}:holds", f"{tag}:expiry"]
        self._reserve = client.register_script(redis_scripts.RESERVE)
        self._commit = client.register_script(redis_scripts.COMMIT)
        self._release = client.register_script(redis_scripts.RELEASE)
        self._spent = client.register_script(redis_scripts.SPENT)
        # A Redis that hangs costs the calls in flight one short wait, then none until it answers a PING.
        self._breaker = CircuitBreaker(f"Budget storage {name!r}", client.ping)

    @classmethod
    def from_url(cls, url: str, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> RedisLedger:
        """`redis://[:password@]host[:port][/db][?prefix=NAME]`, also `rediss://` (TLS)."""
        driver_url, options = split_options(url, {"prefix"})
        prefix = options.get("prefix", DEFAULT_PREFIX)
        if not prefix or not urlsplit(url).hostname:
            raise ConfigError(f"Redis budget storage needs a host and a non-empty prefix: {shown_url(url)!r}")
        pool = BlockingConnectionPool.from_url(
            driver_url,
            max_connections=POOL_SIZE,
            timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(Redis.from_pool(pool), prefix=prefix, reservation_ttl=reservation_ttl, name=shown_url(url))

    async def reserve(
        self, charges: Sequence[Charge], amount: int, now: float, *, reservation: str | None = None
    ) -> str:
        """Hold `amount` at every tier or none (see `LedgerStorage.reserve`)."""
        reservation = self._new_reservation(charges, amount, reservation)
        args: list[str] = [repr(now), repr(now + self._ttl), reservation, str(amount)]
        for charge in charges:
            window = charge.rule.fresh(now)
            args += [charge.key, str(charge.limit), *_rule_args(charge.rule), repr(window.start), repr(window.end)]
        reply = await self._run(lambda: self._reserve(keys=self.keys, args=args))
        if int(reply[0]) == 0:
            key = _text(reply[1])
            limit = next(charge.limit for charge in charges if charge.key == key)
            raise TierExceeded(key, int(reply[2]), int(reply[3]), limit, amount)
        return reservation

    async def commit(self, reservation: str, amount: int, now: float) -> bool:
        """Book `amount` as spend at every tier of the reservation (see `LedgerStorage.commit`)."""
        args: list[str] = [reservation, str(amount), repr(now)]
        for rule in _RULES:  # the script picks the rule each tier is stored with
            window = rule.fresh(now)
            args += [*_rule_args(rule), repr(window.start), repr(window.end)]
        reply = await self._run(lambda: self._commit(keys=self.keys, args=args))
        if int(reply[0]) == -1:
            check_commit(reservation, int(reply[1]), amount)
        return int(reply[0]) == 1

    async def release(self, reservation: str) -> bool:
        """Drop the reservation's holds without spending."""
        return int(await self._run(lambda: self._release(keys=self.keys, args=[reservation]))) == 1

    async def _stored(self, key: str, now: float) -> tuple[Counter | None, int]:
        stored, reserved = await self._run(lambda: self._spent(keys=self.keys, args=[repr(now), key]))
        return _counter(key, _text(stored)), int(reserved)

    async def holds(self) -> list[Hold]:
        holds, expiry = await self._run(lambda: _read_all(self.client, self.keys[2], self.keys[3]))
        scores = {_text(id_): float(score) for id_, score in expiry}
        listed = [(_text(id_), json.loads(text)) for id_, text in holds.items()]
        return [Hold(id_, int(hold[0]), scores.get(id_, 0.0)) for id_, hold in listed]

    async def tiers(self, now: float) -> dict[str, TierUsage]:
        await self._run(lambda: self._spent(keys=self.keys, args=[repr(now), ""]))  # reclaim expired holds first
        counters, reserved = await self._run(lambda: _read_all(self.client, self.keys[0], self.keys[1], zset=False))
        usage: dict[str, TierUsage] = {}
        for raw_key, text in counters.items():
            key = _text(raw_key)
            counter = _counter(key, _text(text))
            if counter is not None:
                usage[key] = counter.usage(int(reserved.get(raw_key, 0)), now)
        return usage

    async def aclose(self) -> None:
        """Close the client and its connection pool."""
        await self._breaker.aclose()
        await self.client.aclose()

    async def _run(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await self._breaker.call(operation)
        except (RedisError, CircuitOpen) as exc:
            raise self._failed(exc) from exc


async def _read_all(client: Redis, first: str, second: str, *, zset: bool = True) -> tuple[Any, Any]:
    """Two whole keys read in one transaction: a hash, and a sorted set with scores (or another hash)."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(first)
        if zset:
            pipe.zrange(second, 0, -1, withscores=True)
        else:
            pipe.hgetall(second)
        first_value, second_value = await pipe.execute()
    return first_value, second_value


def _rule_args(rule: PeriodRule) -> list[str]:
    return [rule.period, "1" if rule.calendar else "0"]


def _counter(key: str, text: str) -> Counter | None:
    if not text:
        return None
    period, calendar, start, end, spent, limit = text.split("|")
    return stored_counter(key, period, calendar == "1", float(start), float(end), int(spent), int(limit))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
