"""Manual mode (the default): the model's tool calls come back as suggestions; the app executes approved
ones through `POST /tool/execute` and continues the conversation. Provider routing and its errors."""

import json

import pytest

from mcp_guard.budget.config import BudgetConfig, TierBudget
from tests.governance.seed import Keys

from .conftest import API_KEY
from .scripts import SCRIPTS
from .world import CALLS, NOTES, chat, chat_document, chat_gateway, client, model, received, user

pytestmark = pytest.mark.anyio

TEAM_BUDGET = BudgetConfig(limit=5.0, period="1d")


async def test_suggest_then_execute_then_continue(llm):
    keys = Keys()
    run = model("manual")
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering) as http:
            first = await http.post("/v1/chat/completions", json=chat(run, user("note: buy milk")))
            assert first.status_code == 200, first.text
            choice = first.json()["choices"][0]
            assert choice["finish_reason"] == "tool_calls"
            [suggested] = choice["message"]["tool_calls"]
            assert suggested["function"]["name"] == "notes__add_note"
            assert CALLS["notes/add_note"] == 0  # a suggestion only

            executed = await http.post("/tool/execute", json=suggested)
            assert executed.status_code == 200, executed.text
            tool_message = executed.json()
            assert tool_message["tool_call_id"] == suggested["id"] and NOTES == ["buy milk"]

            history = [user("note: buy milk"), choice["message"], tool_message]
            second = await http.post("/v1/chat/completions", json=chat(run, *history))
        assert second.json()["choices"][0]["message"]["content"] == "I added the note."
        async with client(app, keys.admin) as admin:
            costs = (await admin.get("/analytics/costs", params={"team_id": "engineering", "period": "day"})).json()
            records = (await admin.get("/audit", params={"key": "eng-bot"})).json()["records"]

    bodies = await received(llm.base_url, run)
    assert [b["authorization"] for b in bodies] == [f"Bearer {API_KEY}"] * 2
    assert bodies[0]["body"]["model"] == run.split("/", 1)[1]  # the provider prefix is not sent upstream
    assert bodies[1]["body"]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": suggested["id"],
        "content": "added 'buy milk'",
    }
    llm_usage = [u for u in costs["usage"] if u["tool"].startswith("llm/scripted/")]
    assert len(llm_usage) == 1 and llm_usage[0]["calls"] == 2 and llm_usage[0]["cost"] > 0
    assert costs["total"] == pytest.approx(sum(u["cost"] for u in costs["usage"]))
    turns = [r for r in records if r["server"] == "llm"]
    assert [r["entry"] for r in turns] == ["chat", "chat"] and all(r["arguments"]["prompt_tokens"] > 0 for r in turns)


async def test_unknown_provider_names_the_configured_ones(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app), client(app, keys.engineering) as http:
        unknown = await http.post("/v1/chat/completions", json=chat("openai/gpt-4.1"))
        bare = await http.post("/v1/chat/completions", json=chat("gpt-4.1"))
        not_offered = await http.post("/v1/chat/completions", json=chat("other/gpt-4.1"))
    assert unknown.status_code == 400 and unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["detail"] == (
        "Unknown provider 'openai' in model 'openai/gpt-4.1'; configured providers: other, scripted"
    )
    assert bare.status_code == 400 and "'<provider>/<model>'" in bare.json()["detail"]
    assert not_offered.status_code == 400
    assert not_offered.json()["detail"] == "Model 'gpt-4.1' is not offered through provider 'other'; allowed: only-this"


async def test_provider_errors_become_problems_and_release_the_budget(llm):
    keys = Keys()
    document = chat_document(keys, llm.url)
    document["teams"]["engineering"]["budget"] = TEAM_BUDGET.model_dump()
    async with chat_gateway(document) as (gateway, app), client(app, keys.engineering) as http:
        broken = await http.post("/v1/chat/completions", json=chat(model("broken")))
        refused = await http.post("/v1/chat/completions", json=chat(model("refuses")))
        status = await gateway.governance.budget.status([TierBudget("team", "engineering", TEAM_BUDGET)])
    assert broken.status_code == 502 and broken.json()["detail"] == "Provider 'scripted' answered 500: model overloaded"
    assert refused.status_code == 400 and "messages[0].role is invalid" in refused.json()["detail"]
    assert status[0]["spent"] == 0 and status[0]["reserved"] == 0


async def test_missing_api_key_is_a_clear_502(llm, monkeypatch):
    monkeypatch.delenv("SCRIPTED_LLM_KEY")
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app), client(app, keys.engineering) as http:
        answer = await http.post("/v1/chat/completions", json=chat(model("hello")))
    assert answer.status_code == 502
    assert answer.json()["detail"] == (
        "Provider 'scripted' has no API key: environment variable 'SCRIPTED_LLM_KEY' is not set"
    )


async def test_bad_bodies_are_400(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app), client(app, keys.engineering) as http:
        no_messages = await http.post("/v1/chat/completions", json={"model": model("hello"), "messages": []})
        bad_mode = await http.post(
            "/v1/chat/completions", json=chat(model("hello")), headers={"x-mcp-mode": "autopilot"}
        )
        not_json = await http.post("/v1/chat/completions", content=b"{", headers={"content-type": "application/json"})
    assert no_messages.status_code == 400 and "'messages'" in no_messages.json()["detail"]
    assert bad_mode.status_code == 400 and "x-mcp-mode" in bad_mode.json()["detail"]
    assert not_json.status_code == 400


def test_scripts_are_json():
    assert json.loads(json.dumps(SCRIPTS)) == SCRIPTS
