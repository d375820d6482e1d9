"""Rate limits on memory and on the machine's real Redis: exact admission under concurrency, 429 details,
selectors, per-team counters, and fail-open / fail-closed when the storage is unreachable."""

import uuid

import anyio
import mcp_types as types
import pytest

from mcp_guard.auth.principal import Principal
from mcp_guard.catalog import CatalogEntry
from mcp_guard.errors import RateLimited, ServiceUnavailable
from mcp_guard.names import ToolRef
from mcp_guard.ratelimit import RateLimiter, RateLimitSettings
from mcp_guard.state import RequestState
from mcp_guard.tool_call import ToolCall

pytestmark = pytest.mark.anyio

REDIS = "redis://127.0.0.1:6379"
MARKETER = Principal(key_id="k-m1", key_name="marketing-bot", roles=("marketing",), team="marketing")
MARKETER_2 = Principal(key_id="k-m2", key_name="marketing-bot-2", roles=("marketing",), team="marketing")
ENGINEER = Principal(key_id="k-e1", key_name="eng-bot", roles=("engineering",), team="engineering")


def call_for(principal, ref="web-search/search") -> ToolCall:
    parsed = ToolRef.parse(ref)
    call = ToolCall(ref, {}, RequestState(principal=principal))
    call.tool = CatalogEntry(parsed, "x", types.Tool(name=parsed.tool, input_schema={"type": "object"}))
    return call


@pytest.fixture
async def limiter():
    """A factory of limiters with a fresh namespace each; their Redis pools are closed afterwards."""
    made: list[RateLimiter] = []

    def make(storage="memory://", **settings) -> RateLimiter:
        made.append(RateLimiter(RateLimitSettings(storage=storage, namespace=f"test-{uuid.uuid4().hex}", **settings)))
        return made[-1]

    yield make
    for guard in made:
        await guard.aclose()


@pytest.fixture(params=["memory://", REDIS])
def storage(request):
    return request.param


async def admitted(guard: RateLimiter, calls: list[ToolCall]) -> int:
    count = 0

    async def one(call: ToolCall) -> None:
        nonlocal count
        try:
            await guard.admit(call)
            count += 1
        except RateLimited:
            pass

    async with anyio.create_task_group() as tg:
        for call in calls:
            tg.start_soon(one, call)
    return count


@pytest.mark.parametrize("strategy", ["sliding-window", "moving-window"])
async def test_exactly_the_limit_under_concurrency(limiter, storage, strategy):
    guard = limiter(
        storage, strategy=strategy, rules=[{"role": "marketing", "tools": "web-search/*", "limit": "10/minute"}]
    )
    assert await admitted(guard, [call_for(MARKETER) for _ in range(50)]) == 10


async def test_the_101st_call_gets_429_with_retry_time(limiter, storage):
    guard = limiter(storage, rules=[{"role": "marketing", "tools": "web-search/*", "limit": "100/minute"}])
    for _ in range(100):
        await guard.admit(call_for(MARKETER))
    with pytest.raises(RateLimited) as info:
        await guard.admit(call_for(MARKETER))
    error = info.value
    assert error.message.startswith("Tool 'web-search/search' limit exceeded (100/minute); retry in ")
    assert 1 <= error.extra["retry_after"] <= 60
    assert error.headers["Retry-After"] == str(error.extra["retry_after"])
    assert error.headers["RateLimit-Limit"] == "100" and error.headers["RateLimit-Remaining"] == "0"
    await guard.admit(call_for(MARKETER_2))  # another key of the same role has its own counter


async def test_selectors_and_tool_patterns(limiter):
    guard = limiter(rules=[{"role": "engineering", "tools": "database/*", "limit": "2/minute"}])
    for _ in range(5):
        await guard.admit(call_for(MARKETER, "database/query"))  # not engineering: rule does not apply
        await guard.admit(call_for(ENGINEER, "filesystem/read"))  # not database: rule does not apply
    await guard.admit(call_for(ENGINEER, "database/query"))
    await guard.admit(call_for(ENGINEER, "database/insert"))  # one counter for the whole pattern
    with pytest.raises(RateLimited):
        await guard.admit(call_for(ENGINEER, "database/query"))


async def test_team_counter_is_shared_and_costs_weigh(limiter):
    guard = limiter(rules=[{"team": "marketing", "per": "team", "limit": "5/minute", "cost": 2}])
    await guard.admit(call_for(MARKETER))
    await guard.admit(call_for(MARKETER_2))
    with pytest.raises(RateLimited):
        await guard.admit(call_for(MARKETER))  # 2 + 2 + 2 > 5


async def test_per_key_request_limit(limiter, storage):
    guard = limiter(storage, requests_per_key="3/minute")
    for _ in range(3):
        await guard.hit_request(MARKETER)
    with pytest.raises(RateLimited, match=r"Key 'marketing-bot' limit exceeded \(3/minute\)"):
        await guard.hit_request(MARKETER)
    await guard.hit_request(None)  # no principal: nothing to count (the auth middleware refuses those)


@pytest.mark.parametrize(("fail_open", "admitted_when_down"), [(True, True), (False, False)])
async def test_unreachable_redis(limiter, fail_open, admitted_when_down, caplog):
    # a port nothing listens on: the storage is "down" from the first call
    guard = limiter("redis://127.0.0.1:1", fail_open=fail_open, rules=[{"tools": "*", "limit": "1/minute"}])
    for _ in range(3):
        if admitted_when_down:
            await guard.admit(call_for(MARKETER))
        else:
            with pytest.raises(ServiceUnavailable, match="Rate limit storage is unavailable"):
                await guard.admit(call_for(MARKETER))
    # one line for the outage, not one per call; it names the storage and what the gateway does meanwhile
    (line,) = [r.getMessage() for r in caplog.records if r.name == "mcp_guard.ratelimit.limiter"]
    assert "redis://127.0.0.1:1" in line and "unreachable" in line
    assert ("admitting calls" if fail_open else "refusing rate-limited calls with 503") in line
