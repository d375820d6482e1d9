"""The governance components one gateway shares between its middlewares, built from its configuration.

Each is created on first use, so a host app that installs only some middlewares opens only the stores
those need (no key database appears unless KeyAuthMiddleware is used, and so on). A component's
background part (the audit writer, a shared key store's replica) runs while `running()` is entered,
whenever the component was created: a host app may build a middleware after its lifespan started.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from .auth.replica import ReplicatedKeyStore
from .auth.resolver import KeyResolver
from .auth.store import open_key_store
from .ratelimit import RateLimiter

if TYPE_CHECKING:
    from .audit.log import AuditLog
    from .audit.refusals import RefusalLog
    from .budget.guard import BudgetGuard
    from .config import GatewayConfig
    from .reconcile.orphans import OrphanSweeper

Background = Callable[[], AbstractAsyncContextManager[Any]]


class Governance:
    def __init__(self, config: GatewayConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._background: list[Background] = []  # what each created component runs while the gateway runs
        self._group: TaskGroup | None = None  # set while running()
        self._stopping = anyio.Event()
        self.metrics: Any = None  # the gateway's Prometheus metrics, when on (budget alerts count there)

    @cached_property
    def keys(self) -> KeyResolver:
        auth = self.config.auth
        store = open_key_store(auth.store, cache_seconds=auth.cache_seconds, fail_open=auth.fail_open)
        if isinstance(store, ReplicatedKeyStore):
            self._run_while_running(store.running)
        return KeyResolver(self.config, store, clock=self.clock)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        limiter = RateLimiter(self.config.rate_limits)
        self._run_while_running(lambda: aclosing(limiter))
        return limiter

    @cached_property
    def budget(self) -> BudgetGuard:
        from .budget.guard import BudgetGuard

        guard = BudgetGuard.from_settings(self.config.budgets, self.config.pricing, clock=self.clock)
        if guard.alerts is not None:
            guard.alerts.metrics = self.metrics
        self._run_while_running(guard.running)
        self._run_while_running(lambda: self._orphan_sweeper(guard).running())
        return guard

    @cached_property
    def audit(self) -> AuditLog:
        from .audit.log import AuditLog

        log = AuditLog.from_settings(self.config.audit)
        if self.config.audit.checkpoints is None:
            self._run_while_running(log.running)
        else:
            from .audit.checkpointer import Checkpointer

            checkpointer = Checkpointer.from_settings(self.config.audit, log)
            self._run_while_running(lambda: checkpointer.running(log))
        return log

    @cached_property
    def refusals(self) -> RefusalLog:
        """Records the requests the middlewares refuse, in the audit log once one is in use: refusals are
        recorded where calls are (no AuditMiddleware, no audit log: neither is)."""
        from .audit.refusals import RefusalLog

        log = RefusalLog(self.audit_in_use, self.config.audit.refusals)
        self._run_while_running(log.running)
        return log

    def audit_in_use(self) -> AuditLog | None:
        """The audit log if something created it, without creating it (which would open its store)."""
        return self.__dict__.get("audit")

    def _orphan_sweeper(self, guard: BudgetGuard) -> OrphanSweeper:
        """Settles the holds a crashed process left behind, from their calls' records (`mcp_guard.reconcile`)."""
        from .reconcile.orphans import OrphanSweeper, Recorded

        async def lookup(call_id: str) -> Recorded | None:
            rows = await self.audit.query(call_id=call_id, limit=1)
            return Recorded(rows[0]["decision"] == "allowed", rows[0]["cost"], rows[0]["time"]) if rows else None

        settings = self.config.budgets
        return OrphanSweeper(
            guard.ledger,
            lambda: lookup if self.audit_in_use() is not None else None,  # no audit log: nothing to settle from
            ttl=settings.reservation_ttl,
            every=settings.reconcile_after,
            clock=self.clock,
        )

    def reconfigure(self, config: GatewayConfig) -> None:
        """A reloaded configuration: the components built so far take its keys, roles, rules, prices and
        refusal cap (their storage stays the one opened at start-up)."""
        self.config = config
        built = self.__dict__
        if "keys" in built:
            built["keys"].reconfigure(config)
        if "rate_limiter" in built:
            built["rate_limiter"].reconfigure(config.rate_limits)
        if "budget" in built:
            built["budget"].reprice(config.pricing)
        if "refusals" in built:
            built["refusals"].reconfigure(config.audit.refusals)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the background parts of the components created so far, and of any created while inside
        (each entered before this yields, when it exists by then); stop and flush them all on exit."""
        self._stopping = anyio.Event()
        error: BaseException | None = None
        async with anyio.create_task_group() as group:
            for background in self._background:
                await group.start(self._hold, background)
            self._group = group
            try:
                yield
            except BaseException as exc:  # noqa: BLE001 - re-raised below, once the components have stopped
                error = exc  # raised in here, it would cancel them: the audit writer could not flush
            finally:
                self._group = None
                self._stopping.set()  # every component leaves its context: the audit log writes what is queued
        if error is not None:
            raise error

    def _run_while_running(self, background: Background) -> None:
        self._background.append(background)
        if self._group is not None:  # created after start-up: its records must not wait for a writer that never runs
            self._group.start_soon(self._hold, background)

    async def _hold(self, background: Background, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with background():
            task_status.started()
            await self._stopping.wait()
