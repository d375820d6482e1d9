import pytest

from mcp_guard.budget import BudgetConfig, PeriodRule, Window
from mcp_guard.budget.periods import add_period, calendar_window, rolling_window

from .conftest import utc

# Thursday 29 February 2024 (a leap day), 13:45:30.25 UTC
LEAP_DAY = utc(2024, 2, 29, 13, 45, 30) + 0.25


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("1m", utc(2024, 2, 29, 13, 45), utc(2024, 2, 29, 13, 46)),
        ("1h", utc(2024, 2, 29, 13), utc(2024, 2, 29, 14)),
        ("1d", utc(2024, 2, 29), utc(2024, 3, 1)),
        ("1w", utc(2024, 2, 26), utc(2024, 3, 4)),  # Monday to Monday
        ("1M", utc(2024, 2, 1), utc(2024, 3, 1)),
    ],
)
def test_calendar_windows_align_to_utc_boundaries(period, start, end):
    assert calendar_window(period, LEAP_DAY) == Window(start, end)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (utc(2023, 12, 31, 23, 59, 59), utc(2023, 12, 1), utc(2024, 1, 1)),
        (utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 2, 1)),  # the boundary belongs to the new month
        (utc(2023, 2, 28, 12), utc(2023, 2, 1), utc(2023, 3, 1)),
        (utc(2024, 4, 30, 23, 59, 59), utc(2024, 4, 1), utc(2024, 5, 1)),
    ],
)
def test_calendar_month_boundaries(now, start, end):
    assert calendar_window("1M", now) == Window(start, end)


@pytest.mark.parametrize(
    ("now", "monday"),
    [
        (utc(2024, 3, 10, 23, 59, 59), utc(2024, 3, 4)),  # Sunday night is still last week
        (utc(2024, 3, 11), utc(2024, 3, 11)),  # Monday 00:00 starts the week
        (utc(2021, 1, 3, 12), utc(2020, 12, 28)),  # ISO week 53 of 2020 runs across new year
    ],
)
def test_iso_weeks_start_on_monday(now, monday):
    assert calendar_window("1w", now) == Window(monday, monday + 7 * 86400)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2024, 1, 31, 10, 30), utc(2024, 2, 29, 10, 30)),  # clamped to a leap February
        (utc(2023, 1, 31, 10, 30), utc(2023, 2, 28, 10, 30)),
        (utc(2024, 3, 31), utc(2024, 4, 30)),
        (utc(2024, 8, 31, 23, 59), utc(2024, 9, 30, 23, 59)),
        (utc(2024, 12, 15, 8), utc(2025, 1, 15, 8)),  # across the year
        (utc(2024, 2, 29, 1), utc(2024, 3, 29, 1)),  # no clamping needed: same day next month
    ],
)
def test_rolling_month_is_same_day_next_month_clamped(start, end):
    assert rolling_window("1M", start) == Window(start, end)


@pytest.mark.parametrize(("period", "seconds"), [("1m", 60), ("1h", 3600), ("1d", 86400), ("1w", 604800)])
def test_rolling_fixed_periods(period, seconds):
    assert add_period(period, LEAP_DAY) == LEAP_DAY + seconds


def test_rolling_window_restarts_at_the_first_spend_after_it_ended():
    rule = PeriodRule("1d")
    first = rule.window_at(LEAP_DAY, None)
    assert first == Window(LEAP_DAY, LEAP_DAY + 86400)
    assert rule.window_at(LEAP_DAY + 86399, first) == first
    later = LEAP_DAY + 3 * 86400 + 17
    assert rule.window_at(later, first) == Window(later, later + 86400)
    assert rule.window_at(first.end, first).start == first.end  # the end is not part of the window


def test_calendar_rule_moves_to_the_next_calendar_window():
    rule = PeriodRule.of(BudgetConfig(limit=1, period="1h", calendar=True))
    stored = rule.window_at(LEAP_DAY, None)
    assert rule.window_at(stored.end, stored) == Window(stored.end, stored.end + 3600)


def test_a_clock_slightly_behind_keeps_the_stored_window():
    rule = PeriodRule("1h", calendar=True)
    stored = rule.window_at(utc(2024, 3, 1, 10), None)
    assert rule.window_at(stored.start - 0.5, stored) == stored


def test_rules_describe_themselves():
    assert str(PeriodRule("1M")) == "1M"
    assert str(PeriodRule("1w", calendar=True)) == "1w (UTC calendar)"
