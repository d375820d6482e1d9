"""Budgets: customer → team → key (→ provider) spend limits, reserved atomically before every call.

pricing.py   what a call costs (`PricingConfig`)
periods.py   the window a limit applies to (calendar-aligned or rolling)
ledger.py    the storage interface and the rule every backend applies atomically
storage/     the backends, chosen by URL: `memory://`, `sqlite:///path`
guard.py     the pipeline stage (`BudgetGuard`, a `CallGuard`)
"""

from .config import BudgetConfig, BudgetSettings, Period, TierBudget
from .guard import BudgetGuard, Reservation, tier_key
from .ledger import Charge, LedgerError, LedgerStorage, TierExceeded, TierUsage
from .periods import PeriodRule, Window
from .pricing import PricingConfig
from .storage import open_ledger

__all__ = [
    "BudgetConfig",
    "BudgetGuard",
    "BudgetSettings",
    "Charge",
    "LedgerError",
    "LedgerStorage",
    "Period",
    "PeriodRule",
    "PricingConfig",
    "Reservation",
    "TierBudget",
    "TierExceeded",
    "TierUsage",
    "Window",
    "open_ledger",
    "tier_key",
]
