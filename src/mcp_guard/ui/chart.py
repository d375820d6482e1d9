"""A line chart laid out for SVG: one line per series over evenly spaced time buckets, a y axis with round
ticks and a few x labels. Only geometry here; `templates/chart.html` draws it (no script, no library)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 600, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 12, 36  # room for the axis labels
# Distinguishable for the common colour-vision deficiencies (Okabe–Ito), then grey for "other".
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f")
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # for the point's tooltip: "bucket: value"


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        """The `points` attribute of an SVG polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = field(default=(LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM))

    @property
    def empty(self) -> bool:
        return not any(p for line in self.lines for p in line.points)


def line_chart(title: str, buckets: list[str], series: dict[str, list[float]], *, money: bool = False) -> Chart:
    """`series` maps a name to one value per bucket (same length as `buckets`), in legend order."""
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    top = nice_ceiling(max((v for values in series.values() for v in values), default=0.0), whole=not money)
    step = (x1 - x0) / max(len(buckets) - 1, 1)

    def x(index: int) -> float:
        return x0 + index * step if len(buckets) > 1 else (x0 + x1) / 2

    def y(value: float) -> float:
        return y1 - (value / top) * (y1 - y0)

    lines = tuple(
        Line(name, PALETTE[min(i, len(PALETTE) - 1)],
             tuple(Point(x(j), y(v), f"{buckets[j]}: {_format(v, money)}") for j, v in enumerate(values)))
        for i, (name, values) in enumerate(series.items())
    )  # fmt: skip
    y_ticks = tuple(Tick(y(top * k / 4), _format(top * k / 4, money)) for k in range(5))
    every = max(1, math.ceil(len(buckets) / MAX_X_LABELS))
    x_ticks = tuple(Tick(x(j), _short(bucket)) for j, bucket in enumerate(buckets) if j % every == 0)
    return Chart(title, lines, y_ticks, x_ticks)


def nice_ceiling(value: float, *, whole: bool = False) -> float:
    """The top of a y axis with four round steps at or above `value`: each step is 1, 2, 2.5 or 5 × 10^n
    (whole numbers only, for counts, when `whole`); 1 (or 4 for counts) for nothing."""
    if value <= 0:
        return 4.0 if whole else 1.0
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(f * power for f in factors if f * power >= raw * (1 - 1e-9))
    if whole:
        step = max(1.0, math.ceil(step))
    return float(step * 4)


def _format(value: float, money: bool) -> str:
    if money:  # at least cents, at most four decimals: $0.10, $0.025, $12.50
        whole, _, cents = f"{value:,.4f}".rstrip("0").partition(".")
        return f"${whole}.{cents.ljust(2, '0')}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _short(bucket: str) -> str:
    """`2026-12-07T13:00:00Z` → `12-07 13:00`; a day's bucket → `12-07`."""
    date, _, time = bucket.partition("T")
    hour = time[:5]
    return date[5:] + (f" {hour}" if hour and hour != "00:00" else "")
