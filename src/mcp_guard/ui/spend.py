"""The spend page: cost and calls over time for a period, one line per team, key or tool (the busiest
few, the rest as "other"), drawn as SVG on the server, with the same numbers as a table. The numbers are
the usage report's (`budget/reports.py`, also `GET /mcp/analytics/usage`) without the dashboard's own
actions (server `ui`: logins and changes, audited but not tool usage)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..budget.reports import bucket, usage_rows
from ..errors import BadRequest
from .actions import UI_SERVER
from .audit import settled
from .chart import PALETTE, line_chart
from .request import Answer, Page, Request

if TYPE_CHECKING:
    from .handler import DashboardHost

# range → (its length, the bucket it is drawn in)
RANGES = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "day"), "30d": (timedelta(days=30), "day")}
DEFAULT_RANGE = "7d"
MAX_SPAN = timedelta(days=366)
GROUPS = ("tool", "server", "team", "key")
MAX_RECORDS = 200_000  # a wider range is refused with a message (the usage report's API has no such cap)
OTHER = "other"


async def spend_page(ui: DashboardHost, request: Request) -> Answer:
    group = request.query.get("group", "tool")  # by tool unless asked
    if group not in GROUPS:
        raise BadRequest(f"group={group!r} must be one of: {', '.join(GROUPS)}")
    since, until, period, label = _period(request.query)
    await settled(ui)
    records = await ui.gateway.governance.audit.query(since=since, until=until, limit=MAX_RECORDS + 1)
    if len(records) > MAX_RECORDS:
        raise BadRequest(
            f"The period ({label}) holds more than {MAX_RECORDS} records: narrow it, or use GET /mcp/analytics/usage"
        )
    usage = [record for record in records if record.get("server") != UI_SERVER]  # admin actions are not usage
    rows = usage_rows(usage, (group, "period"), period)
    buckets = _buckets(since, until, period)
    cost, calls = _series(rows, group, buckets)
    context = {
        "title": "Spend",
        "range": request.query.get("range", DEFAULT_RANGE),
        "start": request.query.get("from", ""),
        "end": request.query.get("to", ""),
        "label": label,
        "group": group,
        "ranges": list(RANGES),
        "groups": GROUPS,
        "cost_chart": line_chart(f"Cost per {period} by {group}", buckets, cost, money=True),
        "calls_chart": line_chart(f"Calls per {period} by {group}", buckets, calls),
        "totals": _totals(cost, calls),
    }
    return Page("spend.html", context)


def _period(query: dict[str, str]) -> tuple[float, float, str, str]:
    """(since, until, bucket, a label) of the period asked for: one of `RANGES` up to now, or the UTC days
    `from`…`to` (both included; `to` defaults to today), drawn per hour up to 2 days, per day up to 92, else
    per ISO week."""
    now = time.time()
    if "from" not in query and "to" not in query:
        span = query.get("range", DEFAULT_RANGE)
        if span not in RANGES:
            raise BadRequest(f"range={span!r} must be one of: {', '.join(RANGES)}")
        length, period = RANGES[span]
        return now - length.total_seconds(), now, period, f"the last {span}"
    today = datetime.fromtimestamp(now, UTC).date().isoformat()
    start, end = _day(query.get("from", today), "from"), _day(query.get("to", today), "to") + timedelta(days=1)
    if end <= start:
        raise BadRequest(f"from={query.get('from')!r} is after to={query.get('to')!r}")
    if end - start > MAX_SPAN:
        raise BadRequest(f"The period is longer than {MAX_SPAN.days} days: choose a shorter one")
    period = "hour" if end - start <= timedelta(days=2) else "day" if end - start <= timedelta(days=92) else "week"
    label = f"{start.date().isoformat()} to {(end - timedelta(days=1)).date().isoformat()}"
    return start.timestamp(), min(end.timestamp(), now), period, label


def _day(raw: str, name: str) -> datetime:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is not a date like 2026-12-07") from None


def _buckets(since: float, until: float, period: str) -> list[str]:
    """Every bucket from the one holding `since` to the one holding `until` (empty ones are drawn as zero)."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[period]
    moment = datetime.fromisoformat(bucket(since, period))
    found: list[str] = []
    while moment.timestamp() <= until:
        found.append(bucket(moment.timestamp(), period))
        moment += step
    return found


def _series(
    rows: list[dict[str, Any]], group: str, buckets: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Cost and calls per bucket for the busiest groups (by cost, then calls), the rest summed as "other"."""
    rows = [row for row in rows if row["calls"]]  # only refusals (a refused request at the door): no line
    ranking: dict[str, tuple[float, int]] = {}
    for row in rows:
        name = _name(row[group])
        spent, count = ranking.get(name, (0.0, 0))
        ranking[name] = (spent + row["cost"], count + row["calls"])
    shown = sorted(ranking, key=lambda n: (-ranking[n][0], -ranking[n][1], n))[: len(PALETTE) - 1]
    index = {label: i for i, label in enumerate(buckets)}
    cost: dict[str, list[float]] = {name: [0.0] * len(buckets) for name in shown}
    calls: dict[str, list[float]] = {name: [0.0] * len(buckets) for name in shown}
    for row in rows:
        name = _name(row[group]) if _name(row[group]) in cost else OTHER
        if row["period"] not in index:
            continue
        for series, value in ((cost, row["cost"]), (calls, row["calls"])):
            series.setdefault(name, [0.0] * len(buckets))[index[row["period"]]] += value
    return cost, calls


def _totals(cost: dict[str, list[float]], calls: dict[str, list[float]]) -> list[dict[str, Any]]:
    return [{"name": name, "cost": sum(cost[name]), "calls": int(sum(calls[name]))} for name in cost]


def _name(value: Any) -> str:
    return "(none)" if value is None else str(value)
