"""The seed walkthrough end to end over HTTP through all five middlewares and the one pipeline."""

import anyio
import pytest

from .seed import Keys
from .walkthrough_app import CALLS, governed_gateway, http, mcp_session, tool_call, walkthrough_document

pytestmark = pytest.mark.anyio


async def test_marketing_key_calling_database_is_refused_and_audited():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with http(app, keys.marketing, **{"x-mcp-user": "maria"}) as client:
            refused = await client.post("/tool/execute", json=tool_call("database/query", '{"sql": "select 1"}'))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert (
            refused.json()["detail"]
            == "Tool 'database/query' is not allowed for key 'marketing-bot' (roles: marketing)"
        )
        assert CALLS["database/query"] == 0
        async with http(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "marketing-bot"})).json()["records"]
        assert len(records) == 1
        record = records[0]
        assert (record["decision"], record["reason"], record["server"], record["tool"]) == (
            "denied", "not_allowed", "database", "query",
        )  # fmt: skip
        assert record["user"] == "maria" and record["roles"] == ["marketing"] and record["team"] == "marketing"


async def test_the_101st_web_search_in_a_minute_gets_429_with_retry_time():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with http(app, keys.marketing) as client:
            for i in range(100):
                ok = await client.post("/tool/execute", json=tool_call("web-search__web_search", f'{{"q": "q{i}"}}'))
                assert ok.status_code == 200, ok.text
            limited = await client.post("/tool/execute", json=tool_call("web-search__web_search", '{"q": "one more"}'))
        assert limited.status_code == 429
        assert limited.json()["detail"].startswith("Tool 'web-search/web_search' limit exceeded (100/minute); retry in")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["ratelimit-limit"] == "100"
        assert CALLS["web-search/web_search"] == 100
        async with mcp_session(app, keys.marketing) as session:  # on MCP: an is_error result with the retry time
            result = await session.call_tool("web-search__web_search", {"q": "again"})
        assert result.is_error and result.meta["mcp-guard/reason"] == "rate_limited"
        assert result.meta["mcp-guard/retry_after"] >= 1


async def test_monthly_cost_breakdown_adds_up_to_the_calls_made():
    keys = Keys()
    document = walkthrough_document(keys)
    document["teams"]["engineering"]["budget"] = {"limit": 50.0, "period": "1M", "calendar": True}
    async with governed_gateway(document) as (gateway, app):
        async with http(app, keys.engineering) as client:
            for _ in range(7):
                assert (
                    await client.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))
                ).status_code == 200
            for _ in range(5):
                assert (
                    await client.post("/tool/execute", json=tool_call("filesystem__read_file", '{"path":"/a"}'))
                ).status_code == 200
        async with http(app, keys.admin) as admin:
            costs = (await admin.get("/analytics/costs", params={"team_id": "engineering", "period": "month"})).json()
    assert costs["total"] == pytest.approx(7 * 0.01 + 5 * 0.002)
    assert costs["calls"] == 12
    assert costs["budget"] == 50.0
    assert costs["remaining"] == pytest.approx(50.0 - costs["total"])
    assert costs["usage"] == [
        {"tool": "database/query", "calls": 7, "cost": pytest.approx(0.07)},
        {"tool": "filesystem/read_file", "calls": 5, "cost": pytest.approx(0.01)},
    ]


async def test_no_budget_tier_is_overspent_under_200_concurrent_calls():
    keys = Keys()
    document = walkthrough_document(keys)
    document["teams"]["engineering"]["budget"] = {"limit": 0.50, "period": "1M"}  # admits 50 calls at $0.01
    document["rate_limits"]["rules"] = []
    async with governed_gateway(document) as (gateway, app):
        statuses: list[int] = []
        async with http(app, keys.engineering) as client:

            async def one() -> None:
                response = await client.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(200):
                    tg.start_soon(one)
        assert statuses.count(200) == 50 and statuses.count(402) == 150
        assert CALLS["database/query"] == 50
        async with http(app, keys.admin) as admin:
            costs = (await admin.get("/analytics/costs", params={"team_id": "engineering"})).json()
        assert costs["total"] <= 0.50 + 1e-9 and costs["remaining"] >= -1e-9


async def test_budget_refusal_names_tier_spend_limit_and_cost():
    keys = Keys()
    document = walkthrough_document(keys)
    document["teams"]["engineering"]["budget"] = {"limit": 0.015, "period": "1d"}
    async with governed_gateway(document) as (gateway, app), http(app, keys.engineering) as client:
        assert (await client.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))).status_code == 200
        refused = await client.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))
    assert refused.status_code == 402
    detail = refused.json()["detail"]
    assert "team 'engineering'" in detail and "$0.01" in detail and "this call costs $0.01" in detail


@pytest.mark.parametrize(
    ("headers", "visible"),
    [
        ({}, {"database__query", "filesystem__read_file"}),
        ({"x-mcp-include-clients": "database"}, {"database__query"}),
        ({"x-mcp-include-tools": "filesystem/*"}, {"filesystem__read_file"}),
        ({"x-mcp-exclude-tools": "database/*"}, {"filesystem__read_file"}),
        ({"x-mcp-include-tools": ""}, set()),
        ({"x-bf-mcp-include-clients": "web-search"}, set()),  # narrows only: not granted to engineering
    ],
)
async def test_header_filters_narrow_listings_and_execution(headers, visible):
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with mcp_session(app, keys.engineering, **headers) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == visible
            for hidden in {"database__query", "filesystem__read_file"} - visible:
                result = await session.call_tool(hidden, {"sql": "x", "path": "/a"})
                assert result.is_error and result.meta["mcp-guard/reason"] in ("filtered", "not_allowed")
        async with http(app, keys.engineering, **headers) as client:
            listed = {t["name"] for t in (await client.get("/tools")).json()["tools"]}
        assert listed == visible


async def test_a_deactivated_runtime_key_is_refused_on_its_next_request():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with http(app, keys.admin) as admin:
            created = await admin.post(
                "/keys", json={"name": "ci-bot", "roles": ["engineering"], "team": "engineering"}
            )
            assert created.status_code == 201
            runtime_key, key_id = created.json()["key"], created.json()["id"]
            async with http(app, runtime_key) as bot:
                assert (await bot.get("/tools")).status_code == 200
                assert (await admin.post(f"/keys/{key_id}/deactivate")).status_code == 200
                refused = await bot.get("/tools")
            assert refused.status_code == 403 and refused.json()["detail"] == "Key 'ci-bot' is inactive"
            listed = {k["name"]: k for k in (await admin.get("/keys")).json()["keys"]}
            assert listed["ci-bot"]["active"] is False


async def test_an_mcp_session_cannot_be_reused_by_another_key():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with http(app, keys.engineering) as owner, http(app, keys.marketing) as intruder:
            opened = await owner.post(
                "/",
                json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
                headers={"accept": "application/json, text/event-stream"},
            )  # fmt: skip
            session_id = opened.headers["mcp-session-id"]

            async def list_tools(client):  # in the session `owner` opened
                return await client.post(
                    "/",
                    json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                    headers={"accept": "application/json, text/event-stream", "mcp-session-id": session_id,
                             "mcp-protocol-version": "2025-11-25"},
                )  # fmt: skip

            assert (await list_tools(owner)).status_code == 200
            stolen = await list_tools(intruder)
        assert stolen.status_code == 404


async def test_admin_endpoints_need_an_admin_key():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with http(app) as anonymous:
            assert (await anonymous.get("/audit")).status_code == 401
        async with http(app, keys.engineering) as engineer:
            forbidden = await engineer.get("/keys")
            assert forbidden.status_code == 403 and "not an admin key" in forbidden.json()["detail"]
            assert (await engineer.post("/servers/database/reconnect")).status_code == 403
        async with http(app, keys.admin) as admin:
            bad = await admin.get("/audit", params={"decision": "maybe"})
            assert bad.status_code == 400
            assert (await admin.post("/keys", json={"name": "x", "roles": ["wizard"]})).status_code == 400


async def test_admin_sets_a_runtime_key_budget_and_it_binds():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app), http(app, keys.admin) as admin:
        created = (await admin.post("/keys", json={"name": "etl", "roles": ["engineering"]})).json()
        budget = {"limit": 0.02, "period": "1h"}
        updated = await admin.put(f"/keys/{created['id']}/budget", json=budget)
        assert updated.status_code == 200 and updated.json()["budget"] == {**budget, "calendar": False}
        assert (await admin.put(f"/keys/{created['id']}/budget", json={"limit": -1})).status_code == 400
        async with http(app, created["key"]) as etl:
            for _ in range(2):
                assert (
                    await etl.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))
                ).status_code == 200
            refused = await etl.post("/tool/execute", json=tool_call("database__query", '{"sql":"x"}'))
        assert refused.status_code == 402 and "key" in refused.json()["detail"]
