"""The governance components one gateway shares between its middlewares, built from its configuration.

Each is created on first use, so a host app that installs only some middlewares opens only the stores
those need (no key database appears unless KeyAuthMiddleware is used, and so on).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from .auth.replica import ReplicatedKeyStore
from .auth.resolver import KeyResolver
from .auth.store import open_key_store
from .ratelimit import RateLimiter

if TYPE_CHECKING:
    from .audit.log import AuditLog
    from .budget.guard import BudgetGuard
    from .config import GatewayConfig


class Governance:
    def __init__(self, config: GatewayConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock

    @cached_property
    def keys(self) -> KeyResolver:
        auth = self.config.auth
        store = open_key_store(auth.store, cache_seconds=auth.cache_seconds, fail_open=auth.fail_open)
        return KeyResolver(self.config, store, clock=self.clock)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(self.config.rate_limits)

    @cached_property
    def budget(self) -> BudgetGuard:
        from .budget.guard import BudgetGuard

        return BudgetGuard.from_settings(self.config.budgets, self.config.pricing, clock=self.clock)

    @cached_property
    def audit(self) -> AuditLog:
        from .audit.log import AuditLog

        return AuditLog.from_settings(self.config.audit)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the background parts (the audit writer, a shared key store's replica) of the components in
        use; flush them on exit."""
        async with AsyncExitStack() as stack:
            if "audit" in self.__dict__:
                await stack.enter_async_context(self.audit.running())
            if "keys" in self.__dict__ and isinstance(self.keys.store, ReplicatedKeyStore):
                await stack.enter_async_context(self.keys.store.running())
            if "rate_limiter" in self.__dict__:
                stack.push_async_callback(self.rate_limiter.aclose)
            if "budget" in self.__dict__:
                stack.push_async_callback(self.budget.aclose)
            yield
