"""Budget settings as they appear in the YAML configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    alert_at: list[float] | None = Field(
        None, description="Percentages of the limit that send an alert, for this budget (default: budgets.alerts)."
    )


@dataclass(frozen=True, slots=True)
class TierBudget:
    """The budget of one tier a call is charged to, e.g. `("team", "engineering", BudgetConfig(...))`."""

    tier: Tier
    id: str
    budget: BudgetConfig


class AlertSettings(BaseModel):
    """Alerts when a customer's, team's or key's spend crosses a share of its budget: one log line (WARNING,
    logger `mcp_guard.budget.alerts`) and, with `webhook`, one signed POST per threshold per budget period,
    whichever gateway process sees it first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: list[float] = Field(
        default_factory=list, description="Percentages of each budget, e.g. [50, 80, 100]; empty = no alerts."
    )
    webhook: str | None = Field(None, description="URL that receives each alert as a JSON POST.")
    secret: str | None = Field(
        None,
        description="HMAC-SHA256 key: each POST carries `X-MCP-Guard-Signature: sha256=<hex>` over "
        "`<X-MCP-Guard-Timestamp>.<body>` (use ${ENV} for the value).",
    )
    retries: int = Field(3, ge=0, le=10, description="Further attempts after a failed POST (backoff 1 s, doubling).")
    check_interval: float = Field(5.0, gt=0, description="Seconds between checks of the budgets spent on meanwhile.")

    @field_validator("thresholds")
    @classmethod
    def _percentages(cls, value: list[float]) -> list[float]:
        if any(not 0 < t <= 1000 for t in value):
            raise ValueError("each threshold is a percentage above 0 (100 = the whole budget)")
        return sorted(set(value))


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
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Threshold alerts and their webhook.")
    reservation_ttl: float = Field(
        600.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds after which a reservation that was never settled (the process died mid-call) is "
        "released. Keep it above the longest call timeout.",
    )
    reconcile_after: float = Field(
        30.0,
        gt=0,
        allow_inf_nan=False,
        description="Every this many seconds, each process settles the holds older than this whose call has "
        "an audit record but was never booked (a process died between the two), as the record says.",
    )

    @model_validator(mode="after")
    def _reconcile_before_expiry(self) -> BudgetSettings:
        if self.reconcile_after >= self.reservation_ttl:
            raise ValueError(
                f"reconcile_after ({self.reconcile_after!r} s) must be below reservation_ttl "
                f"({self.reservation_ttl!r} s): a hold is settled from its record before it expires"
            )
        return self
