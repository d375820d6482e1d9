"""The principal a virtual key resolves to."""

from __future__ import annotations

from dataclasses import dataclass

from ..budget.config import TierBudget


@dataclass(frozen=True, slots=True)
class Principal:
    """Everything the gateway knows about a caller. It comes from the key's configuration, never from
    the request: roles, team and customer cannot be claimed by a header or a body."""

    key_id: str
    key_name: str
    roles: tuple[str, ...] = ()
    team: str | None = None
    customer: str | None = None
    is_admin: bool = False
    budgets: tuple[TierBudget, ...] = ()  # customer → team → key, the tiers every call is charged to
    code_mode: bool = False  # set on the key or its team: every tool is shown through Code Mode
    code_mode_limits: tuple[tuple[str, float], ...] = ()  # per-run limits of its roles, team and key, merged
