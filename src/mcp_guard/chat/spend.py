"""LLM spend on the budget ledger: the same tiers as tool calls (customer → team → key) plus the provider's.

Like a tool call, a model call's cost is reserved at every tier in one atomic step before it is made (the
estimate: prompt size and the output bound at the model's prices) and settled after it with the cost of
the tokens actually used. When the actual cost is above the hold (the prompt was underestimated), the
excess is booked by a second reservation, if the tiers still have room; otherwise it is logged.

This is a thin wrapper over the ledger's public `reserve / commit / release`: `BudgetGuard` prices tool
calls itself and has no method that takes an amount and a set of tiers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from ..auth.principal import Principal
from ..budget.config import TierBudget
from ..budget.guard import BudgetGuard, charge_of, tier_key, usd
from ..budget.ledger import Charge, LedgerError, TierExceeded, to_micros
from ..budget.periods import PeriodRule
from ..errors import BudgetExceeded, ServiceUnavailable
from .providers import Route

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation of an LLM call's estimated cost."""

    id: str
    amount: int  # micro-units
    charges: tuple[Charge, ...]


def tiers_of(principal: Principal | None, route: Route) -> tuple[TierBudget, ...]:
    """The tiers a model call through `route` is charged to."""
    tiers = principal.budgets if principal is not None else ()
    budget = route.config.budget
    return (*tiers, TierBudget("provider", route.provider, budget)) if budget is not None else tiers


class LLMSpend:
    """Reserve and settle model calls on the ledger of a `BudgetGuard` (its storage, clock and fail-open)."""

    def __init__(self, guard: BudgetGuard) -> None:
        self.guard = guard

    async def reserve(self, tiers: Sequence[TierBudget], cost: float, *, call_id: str | None = None) -> Hold | None:
        """Hold `cost` at every tier; 402 naming the first tier without room. None when nothing is held.

        `call_id` names the hold after the call's audit record (see `mcp_guard.reconcile`)."""
        amount = to_micros(cost)
        if not tiers or amount <= 0:
            return None
        charges = tuple(charge_of(t) for t in tiers)
        try:
            with anyio.CancelScope(shield=True):  # a hold made must reach `settle`
                reservation = await self.guard.ledger.reserve(charges, amount, self.guard.clock(), reservation=call_id)
        except TierExceeded as refusal:
            raise _exceeded(refusal, tiers, amount) from None
        except LedgerError as exc:
            if self.guard.fail_open:
                logger.warning("budget storage unavailable, admitting a model call unbudgeted: %s", exc)
                return None
            raise ServiceUnavailable("Budget storage is unavailable; the model call was refused") from None
        return Hold(reservation, amount, charges)

    async def settle(self, hold: Hold | None, cost: float | None, *, now: float | None = None) -> None:
        """Book `cost` at `now` (the audit record's time; the clock's by default), or release the hold
        (`cost` None: the call failed before using anything)."""
        if hold is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                if cost is None:
                    await self.guard.ledger.release(hold.id)
                    return
                actual = to_micros(cost)
                now = self.guard.clock() if now is None else now
                await self.guard.ledger.commit(hold.id, min(actual, hold.amount), now)
                if actual > hold.amount:
                    await self._book_excess(hold, actual - hold.amount, now)
            except LedgerError as exc:  # the hold expires after the ledger's TTL
                logger.error("could not settle LLM reservation %s: %s", hold.id, exc)

    async def _book_excess(self, hold: Hold, excess: int, now: float) -> None:
        try:
            extra = await self.guard.ledger.reserve(hold.charges, excess, now)
        except TierExceeded as refusal:
            logger.warning("LLM call used %s more than reserved; tier %r is full: not booked", usd(excess), refusal.key)
            return
        await self.guard.ledger.commit(extra, excess, now)


def _exceeded(refusal: TierExceeded, tiers: Sequence[TierBudget], amount: int) -> BudgetExceeded:
    tier = next(t for t in tiers if tier_key(t) == refusal.key)
    return BudgetExceeded(
        f"Budget of {tier.tier} {tier.id!r} exceeded: spent {usd(refusal.spent)} + reserved {usd(refusal.reserved)} "
        f"of {usd(refusal.limit)} per {PeriodRule.of(tier.budget)}; this model call may cost up to {usd(amount)}",
        extra={"tier": tier.tier, "id": tier.id, "limit": tier.budget.limit, "period": tier.budget.period},
    )
