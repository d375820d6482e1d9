"""What a query asks for (`RecordFilter`) and how a cost report is shaped (`CostUsage`).

SQL stores translate a `RecordFilter` into a WHERE clause; stores that hold records in Python (memory,
JSON lines) use `select` and `tally` here, so the two kinds share one meaning, which the storage
contract tests check against every backend. `since` is inclusive and `until` exclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from ..names import ToolRef
from .chain import SealedRecord
from .record import AuditRecord

Timestamp = float | datetime
DECISIONS = ("allowed", "denied")
EQUAL_FILTERS = ("key_id", "team", "customer", "server", "tool", "decision", "virtual_server")  # SQL stores' columns


class ToolCost(TypedDict):
    tool: str  # `server/tool`
    calls: int
    cost: float


class CostUsage(TypedDict):
    """The body of `GET /analytics/costs`: spend of allowed calls, tools by cost (highest first)."""

    total: float
    calls: int
    by_tool: list[ToolCost]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordFilter:
    """Conditions every returned record meets; a field left `None` does not filter."""

    key_id: str | None = None
    team: str | None = None
    customer: str | None = None
    server: str | None = None
    tool: str | None = None  # only together with `server`
    decision: str | None = None
    virtual_server: str | None = None  # records of requests that came through this virtual server
    since: float | None = None
    until: float | None = None
    after_seq: int | None = None
    before_seq: int | None = None  # paging back: records older than one already shown (times may tie)
    call_id: str | None = None  # one call's record (`mcp_guard.reconcile` settles a hold from it)
    limit: int | None = None  # newest first, at most this many (`query` only)

    def matches(self, record: AuditRecord) -> bool:
        """The Python meaning of the filter, minus the seq bounds and `limit` (they need the seq/order)."""
        equal = (
            (self.key_id, record.key_id),
            (self.team, record.team),
            (self.customer, record.customer),
            (self.server, record.server),
            (self.tool, record.tool),
            (self.decision, record.decision),
            (self.virtual_server, record.virtual_server),
            (self.call_id, record.call_id),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in equal):
            return False
        return (self.since is None or record.time >= self.since) and (self.until is None or record.time < self.until)


def sql_where(
    filters: RecordFilter, *extra: str, mark: str = "?", value: Callable[[Any], Any] = lambda v: v
) -> tuple[str, list[Any]]:
    """The WHERE clause of a SQL store (`mark` is the driver's placeholder), `extra` conditions first, and
    its parameters; `value` adapts a compared value to what the store holds."""
    clauses, params = list(extra), []
    for name in EQUAL_FILTERS:
        wanted = getattr(filters, name)
        if wanted is not None:
            clauses.append(f"{name} = {mark}")
            params.append(value(wanted))
    bounds = (
        ("time >=", filters.since),
        ("time <", filters.until),
        ("seq >", filters.after_seq),
        ("seq <", filters.before_seq),
        ("call_id =", filters.call_id),
    )
    for clause, bound in bounds:
        if bound is not None:
            clauses.append(f"{clause} {mark}")
            params.append(bound)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def tool_filter(reference: str | None) -> tuple[str | None, str | None]:
    """`server/tool` → (server, tool); `server/*` → (server, None); `None` → no filter."""
    if reference is None:
        return None, None
    ref = ToolRef.parse(reference)
    return ref.server, None if ref.tool == "*" else ref.tool


def decision_filter(decision: str | None) -> str | None:
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} is not one of {DECISIONS!r}")
    return decision


def epoch(value: Timestamp | None) -> float | None:
    """Seconds since the epoch; a naive datetime is refused rather than guessed to be local or UTC."""
    if value is None or isinstance(value, int | float):
        return value
    if value.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no timezone; pass an aware datetime or epoch seconds")
    return value.timestamp()


def select(rows: Iterable[SealedRecord], filters: RecordFilter) -> list[SealedRecord]:
    """Matching rows, newest (highest seq) first, cut to `filters.limit`."""
    after, before = filters.after_seq, filters.before_seq
    found = [
        row
        for row in rows
        if (after is None or row.seq > after) and (before is None or row.seq < before) and filters.matches(row.record)
    ]
    found.sort(key=lambda row: row.seq, reverse=True)
    return found if filters.limit is None else found[: filters.limit]


def tally(rows: Iterable[SealedRecord], filters: RecordFilter) -> CostUsage:
    """`cost_report` over the allowed calls among `rows` that match `filters`."""
    groups: dict[str, tuple[int, float]] = {}
    for row in rows:
        record = row.record
        if record.decision == "allowed" and filters.matches(record):
            calls, cost = groups.get(f"{record.server}/{record.tool}", (0, 0.0))
            groups[f"{record.server}/{record.tool}"] = (calls + 1, cost + record.cost)
    return cost_report((tool, calls, cost) for tool, (calls, cost) in groups.items())


def cost_report(groups: Iterable[tuple[str, int, float]]) -> CostUsage:
    """Build the report from per-tool `(server/tool, calls, cost)` groups."""
    by_tool = [ToolCost(tool=tool, calls=calls, cost=cost) for tool, calls, cost in groups]
    by_tool.sort(key=lambda item: (-item["cost"], item["tool"]))
    return CostUsage(
        total=sum(item["cost"] for item in by_tool),
        calls=sum(item["calls"] for item in by_tool),
        by_tool=by_tool,
    )
