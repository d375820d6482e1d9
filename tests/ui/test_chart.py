"""The spend chart's geometry: round axis tops, one line per series, points where the values are."""

from __future__ import annotations

import pytest

from mcp_guard.ui.chart import HEIGHT, LEFT, TOP, WIDTH, line_chart, nice_ceiling

BOTTOM_Y = HEIGHT - 36


@pytest.mark.parametrize(
    ("value", "whole", "top"),
    [(0, False, 1.0), (0, True, 4.0), (0.1, False, 0.1), (0.07, False, 0.08), (3, True, 4.0), (5, True, 8.0),
     (17, True, 20.0), (250, True, 400.0), (0.0001, False, 0.0001)],
)  # fmt: skip
def test_nice_ceiling(value: float, whole: bool, top: float) -> None:
    assert nice_ceiling(value, whole=whole) == pytest.approx(top)
    assert nice_ceiling(value, whole=whole) >= value


def test_points_follow_the_values() -> None:
    chart = line_chart("Calls", ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"],
                       {"a": [0, 4, 8], "b": [2, 2, 2]})  # fmt: skip
    a, b = chart.lines
    assert [p.x for p in a.points] == [LEFT, (LEFT + WIDTH - 28) / 2, WIDTH - 28]
    assert [p.y for p in a.points] == [BOTTOM_Y, (BOTTOM_Y + TOP) / 2, TOP]  # top of the axis is 8
    assert {p.y for p in b.points} == {BOTTOM_Y - (BOTTOM_Y - TOP) / 4}
    assert a.colour != b.colour and a.path.count(",") == 3
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    assert [t.label for t in chart.x_ticks] == ["12-01", "12-02", "12-03"]
    assert a.points[1].label == "2026-12-02T00:00:00Z: 4"


def test_money_ticks_and_a_single_bucket() -> None:
    chart = line_chart("Cost", ["2026-12-07T13:00:00Z"], {"t": [0.025]}, money=True)
    assert [t.label for t in chart.y_ticks] == ["$0.00", "$0.01", "$0.02", "$0.03", "$0.04"]
    (point,) = chart.lines[0].points
    assert point.x == (LEFT + WIDTH - 28) / 2 and point.label.endswith("$0.025")
    assert chart.x_ticks[0].label == "12-07 13:00"
    assert not chart.empty and line_chart("Empty", [], {}).empty
