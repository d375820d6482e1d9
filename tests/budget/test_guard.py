import logging

import anyio
import mcp_types as types
import pytest

from mcp_guard.auth.principal import Principal
from mcp_guard.budget import BudgetGuard, BudgetSettings, PricingConfig, Reservation
from mcp_guard.budget.guard import usd
from mcp_guard.budget.storage.sqlite import SqliteLedger
from mcp_guard.catalog import CatalogEntry
from mcp_guard.errors import BudgetExceeded
from mcp_guard.names import ToolRef, plain_name
from mcp_guard.state import RequestState
from mcp_guard.tool_call import ToolCall

from .conftest import T0, TTL, tier, utc

pytestmark = pytest.mark.anyio

PRICING = PricingConfig(tools={"github/search": 0.02, "github/big": 9.99, "github/free": 0.0})
BUDGETS = (tier("customer", "acme", 100), tier("team", "engineering", 10), tier("key", "k1", 50))
PRINCIPAL = Principal("k1", "ci-key", team="engineering", customer="acme", budgets=BUDGETS)


def make_call(ref="github/search", principal=PRINCIPAL):
    parsed = ToolRef.parse(ref)
    call = ToolCall(ref, {}, RequestState(principal=principal))
    call.tool = CatalogEntry(parsed, plain_name(parsed), types.Tool(name=parsed.tool, input_schema={"type": "object"}))
    return call


@pytest.fixture
def guard(ledger, clock):
    return BudgetGuard(ledger, PRICING, clock=clock)


async def run(guard, ref="github/search", succeeded=True, principal=PRINCIPAL):
    call = make_call(ref, principal)
    token = await guard.admit(call)
    await guard.settle(call, token, succeeded)
    return call


async def spent(guard, budgets=BUDGETS):
    return [row["spent"] for row in await guard.status(budgets)]


async def test_a_call_is_charged_at_every_tier(guard):
    call = make_call()
    token = await guard.admit(call)
    assert isinstance(token, Reservation) and call.cost == 0.02
    assert [row["reserved"] for row in await guard.status(BUDGETS)] == [0.02] * 3
    await guard.settle(call, token, succeeded=True)
    assert await spent(guard) == [0.02] * 3


@pytest.mark.parametrize(
    ("ref", "principal"),
    [
        ("github/search", None),
        ("github/search", Principal("k2", "no-budget")),
        ("github/free", PRINCIPAL),
    ],
)
async def test_nothing_to_reserve(guard, ref, principal):
    call = make_call(ref, principal)
    assert await guard.admit(call) is None
    assert call.cost == PRICING.cost_of(call.tool.ref)
    await guard.settle(call, None, succeeded=True)
    assert await spent(guard) == [0.0] * 3


async def test_failed_calls_are_refunded(guard):
    call = await run(guard, succeeded=False)
    assert call.cost == 0.0  # the audit record shows what was charged
    assert await spent(guard) == [0.0] * 3


async def test_failed_calls_are_charged_when_refunds_are_off(ledger, clock):
    guard = BudgetGuard(ledger, PRICING, refund_failed=False, clock=clock)
    call = await run(guard, succeeded=False)
    assert call.cost == 0.02
    assert await spent(guard) == [0.02] * 3


async def test_the_refusal_names_tier_spend_limit_and_cost(guard):
    await run(guard, "github/big")
    with pytest.raises(BudgetExceeded) as refused:
        await guard.admit(make_call())
    error = refused.value
    assert error.status == 402 and error.reason == "budget_exceeded"
    assert error.message == (
        "Budget of team 'engineering' exceeded: spent $9.99 + reserved $0.00 of $10.00 per 1M; this call costs $0.02"
    )
    assert error.extra == {
        "tier": "team",
        "id": "engineering",
        "spent": 9.99,
        "reserved": 0.0,
        "limit": 10.0,
        "cost": 0.02,
        "period": "1M",
    }
    assert await spent(guard) == [9.99] * 3  # the customer tier, checked first, holds nothing more


async def test_calendar_periods_are_named_as_such(ledger, clock):
    budgets = (tier("key", "k1", 0.01, "1d", calendar=True),)
    guard = BudgetGuard(ledger, PRICING, clock=clock)
    with pytest.raises(BudgetExceeded, match=r"of \$0.01 per 1d \(UTC calendar\); this call costs \$0.02$"):
        await guard.admit(make_call(principal=Principal("k1", "k", budgets=budgets)))


def test_amounts_below_a_cent_keep_their_digits():
    assert (usd(500), usd(1_234_567), usd(10_000_000)) == ("$0.0005", "$1.234567", "$10.00")


async def test_the_budget_comes_back_when_the_period_rolls_over(guard, clock):
    principal = Principal("k1", "k", budgets=(tier("key", "k1", 0.04, "1h", calendar=True),))
    clock.now = utc(2024, 3, 14, 12, 59)
    await run(guard, principal=principal)
    await run(guard, principal=principal)
    with pytest.raises(BudgetExceeded):
        await guard.admit(make_call(principal=principal))
    clock.now = utc(2024, 3, 14, 13)
    await run(guard, principal=principal)


async def test_a_reservation_never_settled_is_reclaimed_after_its_ttl(guard, clock, caplog):
    crashed = make_call("github/big")
    token = await guard.admit(crashed)  # ... and the call never settles
    with pytest.raises(BudgetExceeded, match=r"reserved \$9.99"):
        await guard.admit(make_call())
    clock.advance(TTL)
    await run(guard)
    with caplog.at_level(logging.WARNING, logger="mcp_guard.budget.guard"):
        await guard.settle(crashed, token, succeeded=True)
    assert "expired before it was settled" in caplog.text
    assert await spent(guard) == [0.02] * 3


async def test_settling_finishes_even_while_the_task_is_cancelled(guard):
    call = make_call("github/big")
    token = await guard.admit(call)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await guard.settle(call, token, succeeded=False)
    assert [row["reserved"] for row in await guard.status(BUDGETS)] == [0.0] * 3


async def test_status_reports_every_tier(guard, clock):
    await run(guard, "github/big")
    daily = tier("team", "ops", 5, "1d", calendar=True)
    rows = await guard.status([BUDGETS[1], daily, tier("key", "unused", 1)])
    assert rows[0] == {
        "tier": "team",
        "id": "engineering",
        "limit": 10.0,
        "period": "1M",
        "calendar": False,
        "spent": 9.99,
        "reserved": 0.0,
        "remaining": 0.01,
        "window": {"start": T0, "end": utc(2024, 4, 14, 12)},
    }
    # a calendar window exists before any spend; a rolling one opens with the first spend
    assert rows[1]["window"] == {"start": utc(2024, 3, 14), "end": utc(2024, 3, 15)}
    assert rows[1]["remaining"] == 5.0
    assert rows[2]["window"] is None


async def test_from_settings_opens_the_named_storage(tmp_path, clock):
    settings = BudgetSettings(storage=f"sqlite:///{tmp_path}/budget.db", refund_failed=False, reservation_ttl=60)
    guard = BudgetGuard.from_settings(settings, PRICING, clock=clock)
    assert isinstance(guard.ledger, SqliteLedger) and not guard.refund_failed
    await run(guard)
    await guard.aclose()


def test_settings_defaults_are_the_safe_ones():
    settings = BudgetSettings()
    assert (settings.storage, settings.refund_failed, settings.reservation_ttl) == ("memory://", True, 600.0)
