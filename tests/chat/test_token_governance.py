"""Token governance: model spend reserved and settled on the budget tiers (plus the provider's), token rate
limits per key and team, both refusing like tool calls (402, 429) and both audited."""

import pytest

from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.budget.config import TierBudget
from tests.governance.seed import Keys

from .world import SEED_CALLS, chat, chat_document, chat_gateway, client, model, received

pytestmark = pytest.mark.anyio


async def test_a_budget_running_out_mid_loop_stops_it_with_402_and_the_work_done(llm):
    keys = Keys()
    run = model("costly_loop")
    document = chat_document(keys, llm.url)
    # per turn: 100 completion tokens at $1000/M = $0.10 (+ $0.001 of prompt), then a $0.01 database query
    document["teams"]["engineering"]["budget"] = {"limit": 0.25, "period": "1d"}
    async with chat_gateway(document) as (gateway, app):
        async with client(app, keys.engineering, **{"x-mcp-mode": "agent"}) as http:
            refused = await http.post("/v1/chat/completions", json=chat(run, max_tokens=100))
        status = await gateway.governance.budget.status(
            [TierBudget("team", "engineering", gateway.config.teams["engineering"].budget)]
        )
        async with client(app, keys.admin) as admin:
            costs = (await admin.get("/analytics/costs", params={"team_id": "engineering", "period": "day"})).json()
    assert refused.status_code == 402, refused.text
    problem = refused.json()
    assert problem["detail"].startswith("Budget of team 'engineering' exceeded: spent $0.222")
    assert "this model call may cost up to $0.10" in problem["detail"]
    progress = problem["mcp_guard"]
    assert (progress["turns"], progress["depth"], progress["stopped"]) == (2, 2, None)
    assert [s["name"] for s in progress["executed"]] == ["database__query", "database__query"]
    assert SEED_CALLS["database/query"] == 2 and len(await received(llm.base_url, run)) == 2
    assert status[0]["spent"] == pytest.approx(0.222, abs=1e-3) and status[0]["reserved"] == 0
    assert costs["total"] == pytest.approx(status[0]["spent"])  # the audit sums what the ledger booked


async def test_the_provider_tier_is_charged_too(llm):
    keys = Keys()
    document = chat_document(keys, llm.url)
    document["llm"]["providers"]["scripted"]["budget"] = {"limit": 0.15, "period": "1d"}
    async with chat_gateway(document) as (gateway, app), client(app, keys.marketing) as http:
        ok = await http.post("/v1/chat/completions", json=chat(model("chatty"), max_tokens=100))
        refused = await http.post("/v1/chat/completions", json=chat(model("chatty"), max_tokens=100))
    assert ok.status_code == 200 and refused.status_code == 402
    assert refused.json()["tier"] == "provider" and refused.json()["id"] == "scripted"


async def test_a_token_limit_refuses_with_429_before_the_model_is_called(llm):
    keys = Keys()
    run = model("chatty")  # 20 prompt + 200 completion tokens per turn
    document = chat_document(keys, llm.url)
    document["llm"]["token_limits"] = {"rules": [{"limit": "300/minute", "per": "key"}]}
    no_tools = {"x-mcp-include-clients": ""}  # a small prompt: the limit is about completions here
    async with chat_gateway(document) as (gateway, app):
        async with client(app, keys.engineering, **no_tools) as http:
            first = await http.post("/v1/chat/completions", json=chat(run))
            second = await http.post("/v1/chat/completions", json=chat(run))
            third = await http.post("/v1/chat/completions", json=chat(run))
        async with client(app, keys.marketing, **no_tools) as other:
            other_key = await other.post("/v1/chat/completions", json=chat(model("chatty")))
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "eng-bot", "tool": "llm/*"})).json()["records"]
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert third.headers["content-type"] == "application/problem+json" and int(third.headers["retry-after"]) >= 1
    assert third.json()["detail"].startswith("Token limit of key 'eng-bot' exceeded (300/minute tokens)")
    assert other_key.status_code == 200  # per key
    assert len(await received(llm.base_url, run)) == 2
    assert [(r["decision"], r["reason"]) for r in records] == [
        ("denied", "rate_limited"),
        ("allowed", None),
        ("allowed", None),
    ]


async def test_a_team_token_limit_is_shared(llm):
    keys = Keys()
    second = generate_key()
    document = chat_document(keys, llm.url)
    document["keys"].append(
        {"name": "eng-bot-2", "hash": hash_key(second), "roles": ["engineering"], "team": "engineering"}
    )
    document["llm"]["token_limits"] = {"rules": [{"limit": "300/minute", "per": "team", "team": "engineering"}]}
    headers = {"x-mcp-include-clients": ""}
    async with chat_gateway(document) as (gateway, app):
        async with client(app, keys.engineering, **headers) as http:
            assert (await http.post("/v1/chat/completions", json=chat(model("chatty")))).status_code == 200
            assert (await http.post("/v1/chat/completions", json=chat(model("chatty")))).status_code == 200
        async with client(app, second, **headers) as teammate:
            refused = await teammate.post("/v1/chat/completions", json=chat(model("chatty")))
        async with client(app, keys.marketing, **headers) as other_team:
            other = await other_team.post("/v1/chat/completions", json=chat(model("chatty")))
    assert refused.status_code == 429 and "Token limit of team 'engineering'" in refused.json()["detail"]
    assert other.status_code == 200
