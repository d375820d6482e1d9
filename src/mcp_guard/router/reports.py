"""`GET /analytics/usage`: the usage report (`budget/reports.py`) as JSON or CSV (admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json
from ..budget.reports import GROUPS, MAX_RECORDS, PERIODS, as_csv, usage_rows
from ..errors import BadRequest
from .admin import _time
from .rest import query

if TYPE_CHECKING:
    from ..host import GatewayHost


async def usage(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    params = query(scope)
    group_by = tuple(name.strip() for name in params.get("group_by", "team,key,tool").split(",") if name.strip())
    unknown = [name for name in group_by if name not in GROUPS]
    if unknown or not group_by:
        raise BadRequest(f"group_by={params.get('group_by')!r}: choose from {', '.join(GROUPS)}")
    period = params.get("period", "day")
    if period not in PERIODS:
        raise BadRequest(f"period={period!r} must be one of: {', '.join(PERIODS)}")
    shape = params.get("format", "json")
    if shape not in ("json", "csv"):
        raise BadRequest(f"format={shape!r} must be json or csv")
    records = await gateway.governance.audit.query(
        team=params.get("team_id"),
        key_id=params.get("key_id"),
        since=_time(params, "since"),
        until=_time(params, "until"),
        limit=MAX_RECORDS + 1,
    )
    if len(records) > MAX_RECORDS:
        raise BadRequest(f"The range holds more than {MAX_RECORDS} records; narrow it with since/until")
    rows = usage_rows(records, group_by, period)
    if shape == "csv":
        body = as_csv(rows, group_by).encode()
        headers = [(b"content-type", b"text/csv; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send_json(send, 200, {"group_by": list(group_by), "period": period, "rows": rows})
