"""The budget stage of the pipeline: reserve a call's cost at every tier before it runs, settle after.

The tiers come from the principal (customer → team → key), never from the request. The price comes from
`PricingConfig`. A call that no tier budgets, or that costs nothing, passes without touching the ledger.

When the ledger's storage is unreachable (`LedgerError`), a priced call is refused with 503, or admitted
unbudgeted with `fail_open`; the outage is logged once when it starts and once when it ends (`Outage`).
Settlements that fail meanwhile are kept (`pending.py`) and sent before the next reservation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, aclosing, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from ..caches import IdentityCache
from ..errors import BudgetExceeded, ServiceUnavailable
from ..names import Ref
from ..outage import Outage
from ..storage_url import shown_url
from .alerts import BudgetAlerts
from .config import BudgetSettings, TierBudget
from .ledger import Charge, LedgerError, LedgerStorage, TierExceeded, TierUsage, from_micros, to_micros
from .pending import PendingSettlements, Settlement
from .periods import PeriodRule
from .pricing import PricingConfig
from .storage import open_ledger
from .storage.memory import MemoryLedger

if TYPE_CHECKING:
    from ..tool_call import ToolCall

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The token `admit` hands to `settle`: the ledger's reservation and the amount it holds."""

    id: str
    amount: int  # micro-units


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every call of one tool by one principal reserves: its price and the tiers charged."""

    cost: float
    amount: int  # micro-units
    charges: tuple[Charge, ...]  # empty when no tier is budgeted


def tier_key(budget: TierBudget) -> str:
    """The ledger counter of one tier, e.g. `team:engineering`; every key of a team shares it."""
    return f"{budget.tier}:{budget.id}"


def charge_of(budget: TierBudget) -> Charge:
    """The ledger's view of one tier's budget."""
    return Charge(tier_key(budget), to_micros(budget.budget.limit), PeriodRule.of(budget.budget))


class BudgetGuard:
    """Budgets as a `CallGuard` (see `mcp_guard.state`)."""

    def __init__(
        self,
        ledger: LedgerStorage,
        pricing: PricingConfig,
        *,
        refund_failed: bool = True,
        fail_open: bool = False,
        name: str = "Budget storage",
        clock: Callable[[], float] = time.time,
        alerts: BudgetAlerts | None = None,
    ) -> None:
        self.ledger = ledger
        self.pricing = pricing
        self.refund_failed = refund_failed
        self.fail_open = fail_open
        self.clock = clock
        self.outage = Outage(logger, name)
        self.alerts = alerts  # threshold alerts of the budgets this guard charges
        self.pending = PendingSettlements()
        # Pricing the tool and building the tiers' charges cost ≈ 8 µs a call (pydantic private attributes,
        # three dataclasses per tier), 0.4 µs cached; both follow from the principal and the tool alone.
        self._plans = IdentityCache(self.plan)

    @classmethod
    def from_settings(
        cls, settings: BudgetSettings, pricing: PricingConfig, clock: Callable[[], float] = time.time
    ) -> BudgetGuard:
        """A guard on the storage `settings.storage` names."""
        ledger = open_ledger(settings.storage, reservation_ttl=settings.reservation_ttl)
        return cls(
            ledger,
            pricing,
            refund_failed=settings.refund_failed,
            fail_open=settings.fail_open,
            name=f"Budget storage {shown_url(settings.storage)!r}",
            clock=clock,
            alerts=BudgetAlerts(settings.alerts, clock=clock),
        )

    def reprice(self, pricing: PricingConfig) -> None:
        """New prices (a reloaded file); budgets come with the principals, rebuilt by the key resolver."""
        self.pricing = pricing
        self._plans = IdentityCache(self.plan)

    def plan(self, principal: object, ref: Ref) -> _Plan:
        """The price of `ref` and the tiers of `principal` it is reserved at."""
        cost = self.pricing.cost_of(ref)
        return _Plan(cost, to_micros(cost), tuple(charge_of(b) for b in _budgets(principal)))

    async def admit(self, call: ToolCall) -> Reservation | None:
        """Reserve the call's cost at every tier of its principal; `BudgetExceeded` if one has no room."""
        plan = self._plans.get(call.state.principal, _resolved(call))
        call.refund_if_failed = self.refund_failed
        if not plan.charges or plan.amount <= 0:
            call.cost = plan.cost
            return None
        try:
            # Shielded: a reservation made while the task is being cancelled must still reach `settle`
            # through the pipeline, or it would hold budget until its TTL.
            with self._shielded():
                if self.pending:
                    await self.pending.send(self.ledger, self.clock())
                # Named after the call, so that a hold a crash left behind can be matched with the call's
                # audit record and settled as it says (`mcp_guard.reconcile`).
                reservation = await self.ledger.reserve(plan.charges, plan.amount, self.clock(), reservation=call.id)
        except TierExceeded as refusal:
            self.outage.recovered()
            raise _exceeded(refusal, _budgets(call.state.principal), plan.amount) from None
        except LedgerError as exc:
            self._unreachable(call, plan.cost, exc)
            return None
        self.outage.recovered()
        call.cost = plan.cost
        return Reservation(reservation, plan.amount)

    def _shielded(self) -> AbstractContextManager[object]:
        """A scope no cancellation enters, around a ledger operation that must finish once begun.

        The memory ledger never suspends (see `MemoryLedger`), so no cancellation can reach it and the
        shield is left out: entering and leaving a cancel scope costs ≈ 3.5 µs, twice per call."""
        return nullcontext() if type(self.ledger) is MemoryLedger else anyio.CancelScope(shield=True)

    def _unreachable(self, call: ToolCall, cost: float, error: LedgerError) -> None:
        """Admit unbudgeted (`fail_open`) or refuse with 503, and say so once per outage."""
        if self.fail_open:
            self.outage.failed(error, "admitting priced calls without a reservation (budgets.fail_open)")
            call.cost = cost
            return
        self.outage.failed(error, "refusing priced calls with 503 (budgets.fail_open is false)")
        raise ServiceUnavailable("Budget storage is unavailable; the call was refused") from None

    async def settle(self, call: ToolCall, token: Reservation | None, succeeded: bool) -> None:
        """Commit the reservation, or refund it when the call failed and `refund_failed` is set.

        The pipeline settles after the call's audit record is written, and books at the record's time
        (`call.ended`): the ledger and the audit log then put every call in the same budget window."""
        refund = not succeeded and self.refund_failed
        if refund:
            call.cost = 0.0  # what the audit record shows is what was charged
        if token is None:
            return
        # Shielded: settling must finish even when the client has gone and the task is cancelled.
        with self._shielded():
            try:
                if refund:
                    found = await self.ledger.release(token.id)
                else:
                    now = self.clock() if call.ended is None else call.ended
                    found = await self.ledger.commit(token.id, token.amount, now)
            except LedgerError as exc:
                self.outage.failed(exc, "keeping settlements to send when it answers again")
                self.pending.add(Settlement(token.id, token.amount, refund, call.id))
                return
        if not found:
            logger.warning(
                "budget reservation %s of call %s expired before it was settled; its cost was not booked",
                token.id,
                call.id,
            )
        elif not refund and self.alerts is not None:
            self.alerts.touched(_budgets(call.state.principal))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BudgetGuard]:
        """While the gateway runs: budget alerts checked; the ledger closed on exit."""
        async with aclosing(self):
            if self.alerts is None:
                yield self
                return
            async with self.alerts.running(self.ledger):
                yield self

    async def status(self, tier_budgets: Iterable[TierBudget]) -> list[dict[str, Any]]:
        """Spend, holds and what remains for each tier, in the current window (for `GET /analytics/costs`)."""
        now = self.clock()
        return [_status(budget, await self.ledger.spent(tier_key(budget), now), now) for budget in tier_budgets]

    async def aclose(self) -> None:
        """Close the ledger's storage."""
        await self.ledger.aclose()


def _resolved(call: ToolCall) -> Ref:
    if call.ref is None:
        raise ValueError(f"call {call.name!r} reached the budget stage before it was resolved")
    return call.ref


def _budgets(principal: object) -> tuple[TierBudget, ...]:
    # `budgets` belongs to `mcp_guard.auth.Principal`; other principals charge no tier.
    budgets: tuple[TierBudget, ...] = getattr(principal, "budgets", ())
    return budgets


def _exceeded(refusal: TierExceeded, budgets: Sequence[TierBudget], amount: int) -> BudgetExceeded:
    budget = next(b for b in budgets if tier_key(b) == refusal.key)
    message = (
        f"Budget of {budget.tier} {budget.id!r} exceeded: spent {usd(refusal.spent)} + reserved "
        f"{usd(refusal.reserved)} of {usd(refusal.limit)} per {PeriodRule.of(budget.budget)}; "
        f"this call costs {usd(amount)}"
    )
    extra = {
        "tier": budget.tier,
        "id": budget.id,
        "spent": from_micros(refusal.spent),
        "reserved": from_micros(refusal.reserved),
        "limit": budget.budget.limit,
        "cost": from_micros(amount),
        "period": budget.budget.period,
    }
    return BudgetExceeded(message, extra=extra)


def _status(budget: TierBudget, usage: TierUsage, now: float) -> dict[str, Any]:
    rule = PeriodRule.of(budget.budget)
    # A calendar window exists before anything is spent in it; a rolling one opens with the first spend.
    window = usage.window or (rule.fresh(now) if rule.calendar else None)
    remaining = max(0, to_micros(budget.budget.limit) - usage.spent - usage.reserved)
    return {
        "tier": budget.tier,
        "id": budget.id,
        "limit": budget.budget.limit,
        "period": budget.budget.period,
        "calendar": budget.budget.calendar,
        "spent": from_micros(usage.spent),
        "reserved": from_micros(usage.reserved),
        "remaining": from_micros(remaining),
        "window": None if window is None else {"start": window.start, "end": window.end},
    }


def usd(micros: int) -> str:
    """Micro-units as dollars: cents when exact (`$9.99`), otherwise every significant digit (`$0.0005`)."""
    if micros % 10_000 == 0:
        return f"${from_micros(micros):.2f}"
    return f"${from_micros(micros):.6f}".rstrip("0")
