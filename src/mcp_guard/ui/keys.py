"""The keys and teams page: every key (from the file and created at runtime) and team, with spend against
budget; creating a key (its secret shown once, on the next page only) and deactivating one, through the
same `KeyAdmin` as `POST /mcp/keys`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..auth.admin import KeyAdmin, NewKey
from ..budget.config import BudgetConfig, TierBudget
from ..errors import BadRequest, GatewayError
from .actions import record_action
from .request import Answer, Page, Redirect, Request

if TYPE_CHECKING:
    from .handler import DashboardHost

PERIODS = ("1m", "1h", "1d", "1w", "1M")
T = TypeVar("T", bound=BaseModel)


async def keys_page(ui: DashboardHost, request: Request) -> Answer:
    gateway = ui.gateway
    keys = await KeyAdmin(gateway.governance.keys).list()
    key_budgets = [TierBudget("key", k["id"], BudgetConfig(**k["budget"])) for k in keys if k["budget"]]
    teams = gateway.config.teams
    team_budgets = [TierBudget("team", name, team.budget) for name, team in teams.items() if team.budget]
    statuses = await gateway.governance.budget.status([*key_budgets, *team_budgets])
    spend = {(s["tier"], s["id"]): s for s in statuses}
    context = {
        "title": "Keys and teams",
        "keys": [{**key, "spend": spend.get(("key", key["id"]))} for key in keys],
        "teams": [
            {"name": name, "customer": team.customer, "spend": spend.get(("team", name))}
            for name, team in sorted(teams.items())
        ],  # fmt: skip
        "roles": sorted(gateway.config.roles),
        "periods": PERIODS,
    }
    return Page("keys.html", context)


async def create_key(ui: DashboardHost, request: Request) -> Answer:
    arguments = {"name": request.field("name"), "roles": request.form.getall("roles") if request.form else [],
                 "team": request.field("team") or None}  # fmt: skip
    try:
        new = _new_key(request, arguments)
        secret, record = await KeyAdmin(ui.gateway.governance.keys).create(new)
    except GatewayError as exc:
        await record_action(ui.gateway, request, "create_key", arguments, exc)
        request.notify("error", f"The key was not created: {exc.message}")
        return Redirect("/keys")
    await record_action(ui.gateway, request, "create_key", {**arguments, "id": record.id})
    request.notify("ok", f"Key {record.name} ({record.id}) created. Copy its secret now: it is not shown again.")
    if request.session is not None:
        request.session.secret = secret
    return Redirect("/keys")


async def deactivate_key(ui: DashboardHost, request: Request) -> Answer:
    key_id = request.params["key_id"]
    try:
        record = await KeyAdmin(ui.gateway.governance.keys).deactivate(key_id)
    except GatewayError as exc:
        await record_action(ui.gateway, request, "deactivate_key", {"id": key_id}, exc)
        request.notify("error", exc.message)
        return Redirect("/keys")
    await record_action(ui.gateway, request, "deactivate_key", {"id": key_id})
    request.notify("ok", f"Key {record.name} ({key_id}) is deactivated: it is refused from now on.")
    return Redirect("/keys")


async def set_budget(ui: DashboardHost, request: Request) -> Answer:
    """A runtime key's own budget: set (limit and period) or cleared (an empty limit)."""
    key_id = request.params["key_id"]
    arguments = {"id": key_id, "limit": request.field("budget_limit"), "period": request.field("budget_period")}
    try:
        budget = _budget(request)
        record = await KeyAdmin(ui.gateway.governance.keys).set_budget(key_id, budget)
    except GatewayError as exc:
        await record_action(ui.gateway, request, "set_key_budget", arguments, exc)
        request.notify("error", f"The budget was not changed: {exc.message}")
        return Redirect("/keys")
    await record_action(ui.gateway, request, "set_key_budget", arguments)
    shown = f"{budget.limit:g} per {budget.period}" if budget else "none"
    request.notify("ok", f"Key {record.name} ({key_id}) now has budget {shown}.")
    return Redirect("/keys")


def _budget(request: Request) -> BudgetConfig | None:
    limit = request.field("budget_limit")
    if not limit:
        return None
    return _validated(BudgetConfig, {"limit": limit, "period": request.field("budget_period") or "1M"})


def _new_key(request: Request, arguments: dict[str, Any]) -> NewKey:
    budget = _budget(request)
    return _validated(NewKey, {**arguments, "budget": budget.model_dump() if budget else None})


def _validated(model: type[T], data: dict[str, Any]) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "form"
        raise BadRequest(f"{where}: {error['msg']}") from None
