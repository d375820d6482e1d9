"""Admin endpoints: runtime keys, the audit log, cost analytics. Only keys whose role has `admin: true`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..asgi import Scope, send_json
from ..auth.admin import KeyAdmin, NewKey
from ..budget.config import BudgetConfig, TierBudget
from ..errors import BadRequest, NotAllowed, Unauthenticated
from ..state import RequestState
from .rest import query, read_json

if TYPE_CHECKING:
    from ..host import GatewayHost


def require_admin(scope: Scope) -> None:
    principal = RequestState.from_scope(scope).principal
    if principal is None:
        raise Unauthenticated("Admin endpoints need an admin key (and KeyAuthMiddleware in front of the router)")
    if not principal.is_admin:
        raise NotAllowed(f"Key '{principal.key_name}' is not an admin key")


async def create_key(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    request = _validated(NewKey, await read_json(scope, receive, gateway.config.max_body_bytes))
    key, record = await KeyAdmin(gateway.governance.keys).create(request)
    await send_json(send, 201, {"key": key, **record.public()})


async def list_keys(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    await send_json(send, 200, {"keys": await KeyAdmin(gateway.governance.keys).list()})


async def deactivate_key(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, key_id: str) -> None:
    record = await KeyAdmin(gateway.governance.keys).deactivate(key_id)
    await send_json(send, 200, record.public())


async def set_key_budget(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, key_id: str) -> None:
    body = await read_json(scope, receive, gateway.config.max_body_bytes)
    budget = None if body is None else _validated(BudgetConfig, body)
    record = await KeyAdmin(gateway.governance.keys).set_budget(key_id, budget)
    await send_json(send, 200, record.public())


async def audit_records(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    params = query(scope)
    try:
        records = await gateway.governance.audit.query(
            key_id=params.get("key"),
            team=params.get("team"),
            tool=params.get("tool"),
            decision=params.get("decision"),
            virtual_server=params.get("virtual_server"),
            since=_time(params, "since"),
            until=_time(params, "until"),
            limit=_int(params, "limit", 100, maximum=10_000),
        )
    except ValueError as exc:  # a malformed filter (e.g. decision=maybe) names itself
        raise BadRequest(str(exc)) from None
    await send_json(send, 200, {"records": records})


def _validated(model: Any, body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BadRequest(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}") from None


def _time(params: dict[str, str], name: str) -> float | None:
    """Epoch seconds or ISO 8601 (naive times are UTC)."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is neither epoch seconds nor an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _int(params: dict[str, str], name: str, default: int, *, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"{name}={raw!r} must be a whole number from 1 to {maximum}")
    return int(raw)


async def cost_analytics(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    """`?team_id=&period=month|week|day`: spend of a team (or everyone) in the current calendar period,
    its budget and what remains, and usage by tool."""
    await send_json(send, 200, await cost_report(gateway, scope))


async def cost_report(gateway: GatewayHost, scope: Scope) -> dict[str, Any]:
    """The body of `GET /analytics/costs` for this request's query."""
    params = query(scope)
    team = params.get("team_id")
    period = params.get("period", "month")
    since, until = _period_bounds(period, gateway.governance.clock())
    usage = await gateway.governance.audit.cost_usage(team=team, since=since, until=until)
    budget = await _team_budget(gateway, team)
    body: dict[str, Any] = {
        "team_id": team,
        "period": period,
        "since": since,
        "until": until,
        "total": usage["total"],
        "calls": usage["calls"],
        "budget": budget["limit"] if budget else None,
        "remaining": budget["remaining"] if budget else None,
        "budget_window": budget["window"] if budget else None,
        "usage": usage["by_tool"],
    }
    return body


async def _team_budget(gateway: GatewayHost, team: str | None) -> dict[str, Any] | None:
    """The ledger's view of the team's budget in its current window (its own period, not `period`)."""
    config = gateway.config.teams.get(team) if team else None
    if team is None or config is None or config.budget is None:
        return None
    statuses = await gateway.governance.budget.status([TierBudget("team", team, config.budget)])
    return statuses[0]


def _period_bounds(period: str, now: float) -> tuple[float, float]:
    """The current UTC calendar day, ISO week or month up to now."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
    }
    if period not in starts:
        raise BadRequest(f"period={period!r} must be one of: day, week, month")
    return starts[period].timestamp(), now
