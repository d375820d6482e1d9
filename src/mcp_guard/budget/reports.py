"""Usage reports from the audit log: calls, refusals and spend grouped by team, key, tool and period, as
JSON rows or CSV (`GET /mcp/analytics/usage`).

    ?group_by=team,tool&period=day&since=2026-12-01&until=2026-12-08&team_id=blue&format=csv

`period` buckets by UTC hour, day, ISO week (Monday) or month. The report reads the records of the range
(at most `MAX_RECORDS`; a wider range is refused with a message saying so, rather than silently cut).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

GROUPS = ("team", "key", "tool", "server", "customer", "period")
PERIODS = ("hour", "day", "week", "month")
COLUMNS = ("calls", "denied", "cost")
MAX_RECORDS = 1_000_000


def bucket(time: float, period: str) -> str:
    """The UTC start of `time`'s hour, day, ISO week or month, as ISO 8601."""
    moment = datetime.fromtimestamp(time, UTC)
    if period == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
    else:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if period == "week":
            start -= timedelta(days=start.weekday())
        elif period == "month":
            start = start.replace(day=1)
    return start.isoformat().replace("+00:00", "Z")


def usage_rows(records: Iterable[Mapping[str, Any]], group_by: tuple[str, ...], period: str) -> list[dict[str, Any]]:
    """One row per group: the group's values, then calls (allowed), denied and cost; highest cost first."""
    totals: dict[tuple[Any, ...], list[float]] = {}
    for record in records:
        values = {
            "team": record.get("team"),
            "customer": record.get("customer"),
            "key": record.get("key_name"),
            "tool": f"{record['server']}/{record['tool']}" if record.get("server") else record.get("tool"),
            "server": record.get("server"),
            "period": bucket(record["time"], period),
        }
        group = tuple(values[name] for name in group_by)
        total = totals.setdefault(group, [0, 0, 0.0])
        if record.get("decision") == "denied":
            total[1] += 1
        else:
            total[0] += 1
            total[2] += record.get("cost") or 0.0
    rows = [
        {**dict(zip(group_by, group, strict=True)), "calls": int(calls), "denied": int(denied), "cost": round(cost, 6)}
        for group, (calls, denied, cost) in totals.items()
    ]
    rows.sort(key=lambda row: (-row["cost"], -row["calls"], [str(row[name]) for name in group_by]))
    return rows


def as_csv(rows: list[dict[str, Any]], group_by: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*group_by, *COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows({name: "" if value is None else value for name, value in row.items()} for row in rows)
    return out.getvalue()
