"""The hot path's caches: bounded, oldest dropped first; what the rate limiter and the budget derive per
(principal, tool) is cached per principal object and never served to another principal, however alike."""

from __future__ import annotations

import uuid

import mcp_types as types
import pytest

from mcp_guard.auth.principal import Principal
from mcp_guard.budget import BudgetConfig, BudgetGuard, PricingConfig, TierBudget
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.caches import BoundedMemo, IdentityCache
from mcp_guard.catalog import CatalogEntry
from mcp_guard.errors import RateLimited
from mcp_guard.names import ToolRef
from mcp_guard.ratelimit import RateLimiter, RateLimitSettings
from mcp_guard.state import RequestState
from mcp_guard.tool_call import ToolCall

pytestmark = pytest.mark.anyio
SEARCH, FETCH = ToolRef("web", "search"), ToolRef("web", "fetch")


def test_derived_once_per_principal_and_tool() -> None:
    derived: list[tuple[Principal | None, ToolRef]] = []

    def derive(principal: Principal | None, ref: ToolRef) -> int:
        derived.append((principal, ref))
        return len(derived)

    cache = IdentityCache(derive)
    alice = Principal("k1", "alice", roles=("reader",))
    assert [cache.get(alice, SEARCH), cache.get(alice, SEARCH), cache.get(alice, FETCH)] == [1, 1, 2]
    again = Principal("k1", "alice", roles=("reader",))  # equal, but built again (a reloaded key)
    assert cache.get(again, SEARCH) == 3 and cache.get(alice, SEARCH) == 1
    assert cache.get(None, SEARCH) == cache.get(None, SEARCH) == 4  # no principal is an entry too
    assert len(derived) == 4


def test_bounded_dropping_the_oldest() -> None:
    calls = 0

    def derive(principal: Principal, ref: ToolRef) -> str:
        nonlocal calls
        calls += 1
        return principal.key_id

    first, second, third = (Principal(f"k{n}", f"key{n}") for n in range(3))
    probe: IdentityCache[Principal, ToolRef, str] = IdentityCache(derive)
    probe.get(first, SEARCH)
    one_entry = probe._memo.used
    cache = IdentityCache(derive, max_bytes=2 * one_entry)  # room for two entries
    for principal in (first, second, third):
        cache.get(principal, SEARCH)
    assert len(cache) == 2 and calls == 4
    cache.get(third, SEARCH)
    assert calls == 4  # still cached
    cache.get(first, SEARCH)
    assert calls == 5  # dropped, derived again
    with pytest.raises(ValueError, match="at least 1 byte"):
        IdentityCache(derive, max_bytes=0)


def test_a_memo_remembers_at_most_its_budget_in_bytes() -> None:
    memo: BoundedMemo[str, bool] = BoundedMemo(max_bytes=100, weigh=lambda key, value: 40)
    assert memo.lookup("a") is None
    assert memo.remember("a", False) is False and memo.lookup("a") is False  # a falsy value is remembered too
    memo.remember("b", True)
    memo.remember("a", True)  # replacing a value drops nothing
    assert len(memo) == 2 and memo.used == 80 and memo.lookup("b") is True
    memo.remember("c", True)
    assert len(memo) == 2 and memo.used == 80 and memo.lookup("b") is None  # the oldest went
    with pytest.raises(ValueError, match="at least 1 byte"):
        BoundedMemo(max_bytes=0)


def test_a_memo_weighs_entries_by_what_they_hold() -> None:
    memo: BoundedMemo[bytes, str] = BoundedMemo(max_bytes=256 * 1024)
    for n in range(1000):
        memo.remember(b"%d" % n, "x")
    small = len(memo)
    assert small == 1000  # small entries: all of them fit
    for n in range(100):
        memo.remember(b"%d" % n + b"-" * 10_000, "x")  # ~10 KB keys: about 25 fit
    assert 20 <= len(memo) <= 26 and memo.used <= 256 * 1024
    memo.remember(b"-" * 300_000, "x")  # heavier than the whole budget: not kept, nothing dropped for it
    assert memo.lookup(b"-" * 300_000) is None and 20 <= len(memo) <= 26


def call_by(principal: Principal | None, ref: ToolRef = SEARCH) -> ToolCall:
    call = ToolCall(str(ref), {}, RequestState(principal=principal))
    call.tool = CatalogEntry(ref, "x", types.Tool(name=ref.tool, input_schema={"type": "object"}))
    return call


async def test_a_principal_rebuilt_with_other_roles_gets_other_rate_limits() -> None:
    settings = RateLimitSettings(
        namespace=f"test-{uuid.uuid4().hex}", rules=[{"role": "marketing", "tools": "web/*", "limit": "1/minute"}]
    )
    limiter = RateLimiter(settings)
    marketer = Principal("k1", "bot", roles=("marketing",))
    await limiter.admit(call_by(marketer))
    with pytest.raises(RateLimited):
        await limiter.admit(call_by(marketer))
    moved = Principal("k1", "bot", roles=("engineering",))  # the same key after its roles changed
    for _ in range(3):
        await limiter.admit(call_by(moved))
    with pytest.raises(RateLimited):  # and the first principal is still limited
        await limiter.admit(call_by(marketer))


async def test_a_principal_rebuilt_with_another_team_is_charged_there() -> None:
    guard = BudgetGuard(MemoryLedger(), PricingConfig(default=1.0))
    budget = BudgetConfig(limit=10, period="1d")
    in_red = Principal("k1", "bot", team="red", budgets=(TierBudget("team", "red", budget),))
    in_blue = Principal("k1", "bot", team="blue", budgets=(TierBudget("team", "blue", budget),))
    unbudgeted = Principal("k1", "bot")
    for principal in (in_red, in_blue, in_blue, unbudgeted):
        call = call_by(principal)
        await guard.settle(call, await guard.admit(call), succeeded=True)
    budgets = [TierBudget("team", "red", budget), TierBudget("team", "blue", budget)]
    assert [row["spent"] for row in await guard.status(budgets)] == [1.0, 2.0]
