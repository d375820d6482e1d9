"""`/metrics` scraped and parsed with prometheus-client's own text parser: the series move with calls and
with each kind of refusal, label values stay within what the configuration names."""

from __future__ import annotations

import pytest

from .world import World, rest_call, samples, served, value

pytestmark = pytest.mark.anyio

CALLS = "mcp_guard_tool_calls_total"
REFUSALS = "mcp_guard_refusals_total"


async def scrape(http: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_series_move_with_calls_and_refusals() -> None:
    world = World()
    async with served(world) as (gateway, http):
        before = await scrape(http)
        assert value(before, CALLS, server="calc", tool="add", outcome="ok", entry="rest") == 0
        assert (await rest_call(http, world.worker, "calc__add", a=1, b=2)).status_code == 200
        assert (await rest_call(http, world.worker, "calc__refuse", reason="no")).json()["is_error"] is True
        assert (await rest_call(http, None, "calc__add", a=1, b=2)).status_code == 401
        assert (await rest_call(http, "mcpg_unknown", "calc__add", a=1, b=2)).status_code == 401
        assert (await rest_call(http, world.worker, "ops__wipe", target="x")).status_code == 403  # visibility
        for _ in range(2):
            assert (await rest_call(http, world.worker, "calc__upper", text="a")).status_code == 200
        assert (await rest_call(http, world.worker, "calc__upper", text="a")).status_code == 429
        for _ in range(2):
            assert (await rest_call(http, world.spender, "calc__add", a=1, b=1)).status_code == 200
        assert (await rest_call(http, world.spender, "calc__add", a=1, b=1)).status_code == 402
        assert (await rest_call(http, world.admin, "ops__wipe", target="x")).status_code == 409  # confirmation
        assert (await rest_call(http, world.admin, "calc__nope")).status_code == 404
        after = await scrape(http)

    assert value(after, CALLS, server="calc", tool="add", outcome="ok", entry="rest") == 3
    assert value(after, CALLS, server="calc", tool="refuse", outcome="tool_error", entry="rest") == 1
    assert value(after, CALLS, server="calc", tool="upper", outcome="denied", entry="rest") == 1
    assert value(after, CALLS, server="_unknown", tool="_unknown", outcome="denied", entry="rest") == 1
    assert value(after, REFUSALS, cause="auth", reason="unauthenticated") == 2
    assert value(after, REFUSALS, cause="visibility", reason="not_allowed") == 1
    assert value(after, REFUSALS, cause="rate_limit", reason="rate_limited") == 1
    assert value(after, REFUSALS, cause="budget", reason="budget_exceeded") == 1
    assert value(after, REFUSALS, cause="confirmation", reason="confirmation_required") == 1
    assert value(after, REFUSALS, cause="not_found", reason="tool_not_found") == 1
    assert value(after, "mcp_guard_spend_usd_total", team="blue", key="spender") == pytest.approx(0.2)
    assert value(after, "mcp_guard_tool_call_duration_seconds_count", server="calc", tool="add") == 4
    assert value(after, "mcp_guard_upstream_state", server="calc", state="connected") == 1
    assert value(after, "mcp_guard_upstream_state", server="calc", state="disconnected") == 0
    assert value(after, "mcp_guard_upstream_tools", server="calc") == 5
    assert value(after, "mcp_guard_audit_queue_depth") >= 0
    assert ("mcp_guard_audit_write_failures_total", ()) in after
    # no label value a client chose: every tool label is configured or `_unknown`
    tools = {dict(labels).get("tool") for name, labels in after if name == CALLS}
    assert tools <= {"add", "refuse", "upper", "wipe", "_unknown"}


async def test_metrics_can_require_a_key_and_can_be_turned_off() -> None:
    world = World()
    async with served(world, observability={"metrics": {"require_key": True}}) as (_, http):
        assert (await http.get("/metrics")).status_code == 401
        response = await http.get("/metrics", headers={"authorization": f"Bearer {world.worker}"})
        assert response.status_code == 200 and "mcp_guard_tool_calls" in response.text
    async with served(world, observability={"metrics": {"enabled": False}}) as (_, http):
        response = await http.get("/metrics")
        assert response.status_code == 404 and "metrics" in response.json()["detail"]


async def test_code_mode_executions_are_counted() -> None:
    world = World()
    async with served(world) as (_, http):
        headers = {"authorization": f"Bearer {world.admin}", "x-mcp-code-mode": "true"}
        program = "const r = await calc.add({a: 2, b: 3}); return r;"
        call = {"id": "1", "type": "function", "function": {"name": "executeToolCode", "arguments": {"code": program}}}
        response = await http.post("/mcp/tool/execute", json=call, headers=headers)
        assert response.status_code == 200 and "5" in response.json()["content"]
        broken = {**call, "function": {"name": "executeToolCode", "arguments": {"code": "throw new Error('x')"}}}
        await http.post("/mcp/tool/execute", json=broken, headers=headers)
        after = await scrape(http)
    assert value(after, "mcp_guard_code_executions_total", outcome="ok") == 1
    assert value(after, "mcp_guard_code_executions_total", outcome="error") == 1
    assert value(after, CALLS, server="calc", tool="add", outcome="ok", entry="code") == 1


async def test_a_removed_server_leaves_no_live_series() -> None:
    world = World()
    async with served(world) as (gateway, http):
        assert value(await scrape(http), "mcp_guard_upstream_tools", server="ops") == 1
        gateway.config = gateway.config.model_copy(
            update={"servers": [s for s in gateway.config.servers if s.name != "ops"]}
        )
        await gateway.upstream_manager.reconcile()
        after = await scrape(http)
    assert ("mcp_guard_upstream_tools", (("server", "ops"),)) not in after
    assert value(after, "mcp_guard_upstream_tools", server="calc") == 5
