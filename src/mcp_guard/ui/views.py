"""Jinja2 filters for the dashboard's templates: times in UTC, money, JSON for a record's arguments."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def when(epoch: float | None) -> str:
    """`2026-12-07 08:15:02` (UTC, as every time on the dashboard)."""
    if not epoch:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.4f}" if 0 < value < 1 else f"${value:,.2f}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def filters() -> dict[str, Callable[..., str]]:
    return {"when": when, "money": money, "pretty": pretty}
