"""Budget windows: the span of time one limit applies to.

A *calendar* window is aligned to UTC boundaries (minute, hour, midnight, Monday 00:00, the 1st of the
month) and follows from the time alone. A *rolling* window starts at the first spend after the previous
window ended, so it is stored with the tier's counter; `PeriodRule.window_at` decides between the stored
window and a fresh one. Everything here is pure: times are epoch seconds passed in, never read from a
clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .config import BudgetConfig, Period

_SECONDS: dict[Period, int] = {"1m": 60, "1h": 3600, "1d": 86400, "1w": 7 * 86400}
_WEEK_DAYS = 7


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span `[start, end)` of epoch seconds."""

    start: float
    end: float

    def is_open(self, now: float) -> bool:
        """True while spends at `now` still belong to this window.

        Only the end counts: a `now` slightly before `start` (another process's clock a little behind)
        must not reset a counter that is still current.
        """
        return now < self.end


@dataclass(frozen=True, slots=True)
class PeriodRule:
    """How one budget's windows are laid out: its period and whether it follows the calendar."""

    period: Period
    calendar: bool = False

    @classmethod
    def of(cls, config: BudgetConfig) -> PeriodRule:
        """The rule of a configured budget."""
        return cls(config.period, config.calendar)

    def fresh(self, now: float) -> Window:
        """The window a spend at `now` opens when no earlier window is still open."""
        return calendar_window(self.period, now) if self.calendar else rolling_window(self.period, now)

    def window_at(self, now: float, stored: Window | None) -> Window:
        """The window a spend at `now` belongs to, given the window stored with the counter."""
        if stored is not None and stored.is_open(now):
            return stored
        return self.fresh(now)

    def __str__(self) -> str:
        return f"{self.period} (UTC calendar)" if self.calendar else self.period


def rolling_window(period: Period, start: float) -> Window:
    """The rolling window opened by a spend at `start`."""
    return Window(start, add_period(period, start))


def add_period(period: Period, start: float) -> float:
    """`start` plus one period; `1M` lands on the same day of next month, clamped to that month's end."""
    if period != "1M":
        return start + _SECONDS[period]
    moment = _utc(start)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


def calendar_window(period: Period, now: float) -> Window:
    """The UTC calendar window containing `now`."""
    if period in ("1m", "1h", "1d"):
        size = _SECONDS[period]
        start = now - now % size
        return Window(start, start + size)
    midnight = _utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "1w":
        monday = midnight - timedelta(days=midnight.weekday())
        return Window(monday.timestamp(), (monday + timedelta(days=_WEEK_DAYS)).timestamp())
    first = midnight.replace(day=1)
    return Window(first.timestamp(), add_period("1M", first.timestamp()))


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
