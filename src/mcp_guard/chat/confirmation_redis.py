"""Pending confirmations in Redis, shared by every gateway process: `redis://host:port/db?prefix=NAME`.

A confirmation issued by one process is accepted by any other, once. `add` is one `SET … PX`; `consume` is
one Lua script that reads the entry, decides (unknown, foreign, used, mismatch, expired) and marks it used
in the same step, so two processes presented the same id at the same moment cannot both run the call.
Entries live for two TTLs, so a late retry hears "expired" or "already used" rather than "unknown".

A Redis that hangs or is down refuses the calls that need confirmation with 503 (a destructive call is never
run unconfirmed); a circuit breaker (`breaker.py`) makes that one short wait for the calls in flight, then
an immediate answer until Redis answers a probe again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..breaker import STALL, CircuitBreaker, CircuitOpen
from ..errors import ServiceUnavailable
from ..storage_url import shown_url, split_options
from .confirmation_store import Binding, Pending, Problem

DEFAULT_PREFIX = "mcpg:confirm"
T = TypeVar("T")

# KEYS[1] entry; ARGV: key_id, tool, arguments_hash, now. Returns "" (valid, now used) or the problem.
_CONSUME = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 'unknown' end
local entry = cjson.decode(raw)
if entry.key_id ~= ARGV[1] then return 'foreign' end
if entry.used then return 'used' end
if entry.tool ~= ARGV[2] or entry.arguments_hash ~= ARGV[3] then return 'mismatch' end
if tonumber(ARGV[4]) >= tonumber(entry.expires_at) then return 'expired' end
entry.used = true
redis.call('SET', KEYS[1], cjson.encode(entry), 'KEEPTTL')
return ''
"""


class RedisConfirmationStore:
    def __init__(self, url: str, ttl: float) -> None:
        base, options = split_options(url, ("prefix",))
        self._prefix = options.get("prefix", DEFAULT_PREFIX)
        self._ttl = ttl
        # The socket timeout is a backstop beyond the breaker's stall: a hung Redis is detected by the breaker,
        # which then answers at once, where a timeout would count only as one failure of three in a row.
        self._redis: Redis = Redis.from_url(base, socket_connect_timeout=1.0, socket_timeout=STALL + 1.0)
        self._consume = self._redis.register_script(_CONSUME)
        self._name = f"Confirmation storage {shown_url(base)!r}"
        self._breaker = CircuitBreaker(self._name, self._redis.ping)

    async def add(self, pending: Pending, now: float) -> None:
        entry = {
            "key_id": pending.binding.key_id or "",
            "tool": pending.binding.tool,
            "arguments_hash": pending.binding.arguments_hash,
            "expires_at": pending.expires_at,
            "used": False,
        }
        await self._run(lambda: self._redis.set(self._key(pending.id), json.dumps(entry), px=int(self._ttl * 2000)))

    async def consume(self, confirmation_id: str, binding: Binding, now: float) -> Problem | None:
        args = [binding.key_id or "", binding.tool, binding.arguments_hash, repr(now)]
        answer: Any = await self._run(lambda: self._consume(keys=[self._key(confirmation_id)], args=args))
        problem = answer.decode() if isinstance(answer, bytes) else str(answer)
        return cast(Problem, problem) if problem else None

    async def aclose(self) -> None:
        await self._breaker.aclose()
        await self._redis.aclose()

    async def _run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()` through the breaker; an unreachable store refuses the call with 503."""
        try:
            return await self._breaker.call(operation)
        except (CircuitOpen, RedisError, OSError) as exc:
            raise ServiceUnavailable(
                f"{self._name} is unavailable ({exc}); calls to tools that need confirmation are refused until it "
                "answers"
            ) from None

    def _key(self, confirmation_id: str) -> str:
        return f"{self._prefix}:{confirmation_id}"
