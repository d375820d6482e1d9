"""The usage report's grouping: by any of its groups, server included; refusals counted apart, cost summed."""

from __future__ import annotations

from typing import Any

from mcp_guard.budget.reports import as_csv, usage_rows

DAY = 1_796_601_600.0  # 2026-12-07T00:00:00Z


def record(server: str, tool: str, cost: float, decision: str = "allowed", team: str = "blue") -> dict[str, Any]:
    return {"time": DAY + 60, "server": server, "tool": tool, "cost": cost, "decision": decision, "team": team,
            "key_name": "bot", "customer": None}  # fmt: skip


def test_grouped_by_server_and_day() -> None:
    records = [record("calc", "add", 0.1), record("calc", "upper", 0.2), record("notes", "list", 0.05),
               record("calc", "add", 0.0, decision="denied")]  # fmt: skip
    rows = usage_rows(records, ("server", "period"), "day")
    assert rows == [
        {"server": "calc", "period": "2026-12-07T00:00:00Z", "calls": 2, "denied": 1, "cost": 0.3},
        {"server": "notes", "period": "2026-12-07T00:00:00Z", "calls": 1, "denied": 0, "cost": 0.05},
    ]
    assert as_csv(rows, ("server", "period")).splitlines()[0] == "server,period,calls,denied,cost"
    by_tool = usage_rows(records, ("tool",), "day")
    assert [row["tool"] for row in by_tool] == ["calc/upper", "calc/add", "notes/list"]
