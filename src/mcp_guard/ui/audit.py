"""The audit page: the trail filtered by key, tool, decision and time (newest first), each record's detail
with its arguments as stored (redacted), and "verify chain" with its result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio

from ..errors import BadRequest, GatewayError
from .actions import record_action
from .request import Answer, Page, Redirect, Request

if TYPE_CHECKING:
    from .handler import DashboardHost

PAGE_SIZE = 100
FLUSH_SECONDS = 5.0  # how long a page waits for queued records to be written (a stuck store: shown later)
FILTERS = (
    "key",
    "tool",
    "virtual_server",
    "decision",
    "outcome",
    "since",
    "until",
    "before",
)  # `before`: the pager's seq
OUTCOMES = ("ok", "tool_error", "failed", "denied", "cancelled")
OUTCOME_SCAN = 1000  # an outcome filter looks at the newest this many records that match the other filters
_MAX_PROBLEMS_SHOWN = 20


async def audit_page(ui: DashboardHost, request: Request) -> Answer:
    wanted = {name: request.query[name] for name in FILTERS if name in request.query}
    error: str | None = None
    records: list[dict[str, Any]] = []
    await settled(ui)
    outcome = wanted.get("outcome")
    try:
        records = await ui.gateway.governance.audit.query(
            key_id=wanted.get("key"),
            tool=wanted.get("tool"),
            virtual_server=wanted.get("virtual_server"),
            decision=_decision(wanted.get("decision"), outcome),
            since=_time(wanted, "since"),
            until=_time(wanted, "until"),
            before_seq=_seq(wanted, "before"),
            limit=PAGE_SIZE if outcome is None else OUTCOME_SCAN,
        )
        if outcome is not None:  # the stores filter by decision, not outcome: the rest is done here
            records = [record for record in records if record["outcome"] == outcome][:PAGE_SIZE]
    except (ValueError, GatewayError) as exc:  # a malformed filter names itself; the page still renders
        error = exc.message if isinstance(exc, GatewayError) else str(exc)
        await record_action(ui.gateway, request, "audit", wanted, BadRequest(error))
    context = {"title": "Audit", "records": records, "filters": wanted, "filter_error": error, "limit": PAGE_SIZE,
               "outcomes": OUTCOMES, "scan": OUTCOME_SCAN, "older": _older(wanted, records)}  # fmt: skip

    return Page("audit.html", context, 400 if error else 200)


async def verify_chain(ui: DashboardHost, request: Request) -> Answer:
    await settled(ui)
    report = await ui.gateway.governance.audit.verify()
    head = f"head seq {report.head.seq}, hash {report.head.hash[:16]}…"
    if report.ok:
        request.notify("ok", f"Audit chain intact: {report.checked} records checked, {head}.")
    else:
        shown = "; ".join(str(problem) for problem in report.problems[:_MAX_PROBLEMS_SHOWN])
        more = len(report.problems) - _MAX_PROBLEMS_SHOWN
        suffix = f" (and {more} more)" if more > 0 else ""
        request.notify("error", f"Audit chain BROKEN: {len(report.problems)} problems in {report.checked} records: "
                       f"{shown}{suffix}.")  # fmt: skip
    await record_action(ui.gateway, request, "verify_chain", {"ok": report.ok, "checked": report.checked})
    return Redirect("/audit")


async def settled(ui: DashboardHost) -> None:
    """Let the records queued so far be written first, so a call just made shows (bounded: a slow store
    delays them to a later look, never the page)."""
    with anyio.move_on_after(FLUSH_SECONDS):
        await ui.gateway.governance.audit.flush()


def _older(wanted: dict[str, str], records: list[dict[str, Any]]) -> str | None:
    """The query string of the next page back (the same filters, before the oldest record shown), when this
    page is full. By seq, not time: records of the same millisecond would be skipped or shown twice."""
    if len(records) < PAGE_SIZE:
        return None
    return urlencode({**wanted, "before": records[-1]["seq"]})


def _decision(decision: str | None, outcome: str | None) -> str | None:
    """The decision filter that an outcome implies (`denied` ⇔ denied; any other outcome ⇒ allowed)."""
    if outcome is None:
        return decision
    if outcome not in OUTCOMES:
        raise BadRequest(f"outcome={outcome!r} must be one of: {', '.join(OUTCOMES)}")
    implied = "denied" if outcome == "denied" else "allowed"
    if decision not in (None, implied):
        raise BadRequest(
            f"outcome={outcome!r} contradicts decision={decision!r}: a call with that outcome was {implied}"
        )
    return implied


def _seq(wanted: dict[str, str], name: str) -> int | None:
    raw = wanted.get(name)
    if raw is None:
        return None
    if not raw.isdecimal() or len(raw) > 19:
        raise BadRequest(f"{name}={raw[:40]!r} is not a record's seq (a positive whole number)")
    return int(raw)


def _time(wanted: dict[str, str], name: str) -> float | None:
    """A `datetime-local` field (minutes, no zone: read as UTC, as the page says) or ISO 8601."""
    raw = wanted.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is not a time like 2026-12-07T08:00") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
