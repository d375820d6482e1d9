"""Budget settings as they appear in the YAML configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Period = Literal["1m", "1h", "1d", "1w", "1M"]
Tier = Literal["customer", "team", "key", "provider"]


class BudgetConfig(BaseModel):
    """One spend limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: float = Field(gt=0, description="Maximum spend per period, in the pricing currency (USD).")
    period: Period = Field("1M", description="Reset period: 1m 1h 1d 1w 1M.")
    calendar: bool = Field(
        False,
        description="Align periods to UTC calendar boundaries (minute, hour, midnight, Monday, 1st of the "
        "month) instead of rolling from the first spend of the period.",
    )


@dataclass(frozen=True, slots=True)
class TierBudget:
    """The budget of one tier a call is charged to, e.g. `("team", "engineering", BudgetConfig(...))`."""

    tier: Tier
    id: str
    budget: BudgetConfig


class BudgetSettings(BaseModel):
    """Where budgets are kept and how failed calls are charged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    storage: str = Field(
        "memory://",
        description="Ledger storage URL: `memory://` (one process), `sqlite:///path/to/budget.db` (shared by "
        "the processes of one machine) or `redis://host:6379/0?prefix=mcpg:budget` (shared by every process "
        "and host; needs the `redis` extra).",
    )
    fail_open: bool = Field(
        False,
        description="When the storage is unreachable: false (default) refuses priced calls with 503; true "
        "admits them unbudgeted (their cost is still audited) and logs the outage.",
    )
    refund_failed: bool = Field(True, description="Refund the cost of calls that fail or return an error.")
    reservation_ttl: float = Field(
        600.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds after which a reservation that was never settled (the process died mid-call) is "
        "released. Keep it above the longest call timeout.",
    )
