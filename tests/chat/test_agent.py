"""Agent mode: auto-executable calls run in the gateway, in parallel, through the one pipeline; the rest come
back as suggestions with the steps already executed; Code Mode under the auto-only rule; the depth limit."""

import time

import pytest

from tests.governance.seed import Keys

from .world import CALLS, NOTES, PAUSE_SECONDS, chat, chat_document, chat_gateway, client, model, received, user

pytestmark = pytest.mark.anyio

AGENT = {"x-mcp-mode": "agent"}


async def test_reads_run_and_a_write_comes_back_as_a_suggestion(llm):
    keys = Keys()
    run = model("agent")
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering, **AGENT) as http:
            first = await http.post("/v1/chat/completions", json=chat(run, user("add a note")))
            assert first.status_code == 200, first.text
            answer = first.json()
            choice, ext = answer["choices"][0], answer["mcp_guard"]
            # turn 1: two reads, both auto; turn 2: a read (auto) and a write (not auto)
            assert (ext["stopped"], ext["turns"], ext["depth"]) == ("approval", 2, 2)
            assert [(s["turn"], s["name"]) for s in ext["executed"]] == [
                (1, "notes__list_notes"), (1, "database__query"), (2, "notes__list_notes"),
            ]  # fmt: skip
            assert choice["finish_reason"] == "tool_calls"
            [pending] = choice["message"]["tool_calls"]
            assert pending["function"]["name"] == "notes__add_note" and ext["pending"] == [pending["id"]]
            assert CALLS["notes/list_notes"] == 2 and CALLS["notes/add_note"] == 0
            assert answer["usage"]["total_tokens"] == ext["usage"]["total_tokens"] > 0

            executed = (await http.post("/tool/execute", json=pending)).json()
            history = [user("add a note"), *ext["messages"], executed]
            final = (await http.post("/v1/chat/completions", json=chat(run, *history))).json()
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "eng-bot", "limit": 50})).json()["records"]
    assert final["choices"][0]["message"]["content"] == "Done: one note added."
    assert final["mcp_guard"]["stopped"] == "answer" and NOTES == ["agent note"]
    bodies = [b["body"] for b in await received(llm.base_url, run)]
    roles = [" ".join(m["role"] for m in body["messages"]) for body in bodies]
    assert roles == ["user", "user assistant tool tool", "user assistant tool tool assistant tool tool"]
    turn_ids = [r["call_id"] for r in reversed(records) if r["server"] == "llm"]
    agent_calls = [r for r in reversed(records) if r["entry"] == "agent"]
    assert [r["parent_id"] for r in agent_calls] == [turn_ids[0], turn_ids[0], turn_ids[1]]
    assert all(r["mode"] == "agent" and r["decision"] == "allowed" for r in agent_calls)


async def test_three_slow_auto_tools_take_about_the_time_of_one(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering, **AGENT) as http:
            started = time.perf_counter()
            answer = (await http.post("/v1/chat/completions", json=chat(model("parallel")))).json()
            elapsed = time.perf_counter() - started
    assert answer["choices"][0]["message"]["content"] == "All three done."
    assert [s["content"] for s in answer["mcp_guard"]["executed"]] == ["a done", "b done", "c done"]
    assert CALLS["slow/pause"] == 3
    assert PAUSE_SECONDS <= elapsed < 2 * PAUSE_SECONDS, elapsed  # sequential would be 3x


async def test_code_mode_one_execution_does_several_calls(llm):
    keys = Keys()
    run = model("code")
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering, **AGENT, **{"x-mcp-code-mode": "true"}) as http:
            answer = (await http.post("/v1/chat/completions", json=chat(run))).json()
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "eng-bot", "limit": 50})).json()["records"]
    ext = answer["mcp_guard"]
    assert answer["choices"][0]["message"]["content"] == "Two rows and no notes."
    [step] = ext["executed"]
    assert step["name"] == "executeToolCode" and not step["is_error"], step["content"]
    assert step["content"].startswith("Execution succeeded") and "3 tool calls" in step["content"]
    first = (await received(llm.base_url, run))[0]["body"]
    assert sorted(t["function"]["name"] for t in first["tools"]) == [
        "executeToolCode",
        "listToolFiles",
        "readToolFile",
        "searchTools",
    ]
    inner = [r for r in records if r["entry"] == "code"]
    assert sorted(r["tool"] for r in inner) == ["list_notes", "query", "query"]
    assert len({r["parent_id"] for r in inner}) == 1


async def test_a_program_calling_a_tool_that_is_not_auto_needs_approval(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering, **AGENT, **{"x-mcp-code-mode": "true"}) as http:
            answer = (await http.post("/v1/chat/completions", json=chat(model("code_write")))).json()
    ext = answer["mcp_guard"]
    [step] = ext["executed"]
    assert step["needs_approval"] == ["notes/add_note"] and "needs approval" in step["content"]
    [pending] = answer["choices"][0]["message"]["tool_calls"]
    assert pending["function"]["name"] == "executeToolCode" and ext["stopped"] == "approval"
    assert CALLS["notes/add_note"] == 0 and CALLS["notes/list_notes"] == 1
    assert [m["role"] for m in ext["messages"]] == ["assistant"]  # no tool result: the app decides


async def test_the_depth_limit_stops_the_loop_and_says_so(llm):
    keys = Keys()
    run = model("forever")
    document = chat_document(keys, llm.url, agent={"max_depth": 3})
    async with chat_gateway(document) as (gateway, app), client(app, keys.engineering, **AGENT) as http:
        answer = (await http.post("/v1/chat/completions", json=chat(run))).json()
    ext = answer["mcp_guard"]
    assert (ext["stopped"], ext["turns"], ext["depth"], ext["max_depth"]) == ("max_depth", 4, 3, 3)
    assert ext["note"].startswith("Stopped at the depth limit: 3 rounds")
    assert CALLS["notes/list_notes"] == 3 and len(await received(llm.base_url, run)) == 4
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "notes__list_notes"


async def test_the_callers_own_tools_are_returned_never_executed(llm):
    keys = Keys()
    own = {"type": "function", "function": {"name": "my_lookup", "parameters": {"type": "object"}}}
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering, **AGENT) as http:
            answer = (await http.post("/v1/chat/completions", json=chat(model("own_tool"), tools=[own]))).json()
    [pending] = answer["choices"][0]["message"]["tool_calls"]
    assert pending["function"]["name"] == "my_lookup"
    assert [s["name"] for s in answer["mcp_guard"]["executed"]] == ["notes__list_notes"]


async def test_destructive_tools_are_never_auto_executed(llm):
    keys = Keys()
    document = chat_document(keys, llm.url, agent={"keys": {"eng-bot": ["notes/*"]}})
    async with chat_gateway(document) as (gateway, app), client(app, keys.engineering, **AGENT) as http:
        NOTES.append("old")
        answer = (await http.post("/v1/chat/completions", json=chat(model("delete")))).json()
    [pending] = answer["choices"][0]["message"]["tool_calls"]
    assert pending["function"]["name"] == "notes__delete_note" and NOTES == ["old"]
    assert [s["name"] for s in answer["mcp_guard"]["executed"]] == ["notes__list_notes"]


async def test_per_key_lists_add_to_the_servers_lists(llm):
    keys = Keys()
    document = chat_document(keys, llm.url, agent={"keys": {"eng-bot": ["notes/add_note"]}})
    async with chat_gateway(document) as (gateway, app), client(app, keys.engineering, **AGENT) as http:
        answer = (await http.post("/v1/chat/completions", json=chat(model("agent")))).json()
    assert answer["mcp_guard"]["stopped"] == "answer" and NOTES == ["agent note"]
