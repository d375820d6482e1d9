"""Streaming: relayed as it arrives in manual mode; in agent mode the loop's result is sent as SSE chunks."""

import json

import pytest

from tests.governance.seed import Keys

from .world import chat, chat_document, chat_gateway, client, model, received

pytestmark = pytest.mark.anyio


async def events(http, body, **headers):
    async with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines()]
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def text_of(chunks):
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


async def test_manual_stream_is_relayed_and_metered(llm):
    keys = Keys()
    run = model("hello")
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering) as http:
            plain = await events(http, chat(run, stream=True))
            with_usage = await events(http, chat(run, stream=True, stream_options={"include_usage": True}))
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"tool": "llm/*"})).json()["records"]
    expected = "Hello from the scripted model, streamed in pieces."
    assert text_of(plain) == text_of(with_usage) == expected
    assert len(plain) > 4  # relayed chunk by chunk, not re-assembled
    assert all("usage" not in c for c in plain)  # the gateway asked for usage; this caller did not
    assert with_usage[-1]["choices"] == [] and with_usage[-1]["usage"]["completion_tokens"] > 0
    upstream = [b["body"] for b in await received(llm.base_url, run)]
    assert all(b["stream"] is True and b["stream_options"]["include_usage"] is True for b in upstream)
    assert len(records) == 2
    assert all(r["arguments"]["completion_tokens"] == with_usage[-1]["usage"]["completion_tokens"] for r in records)
    assert all(r["cost"] > 0 for r in records)


async def test_manual_stream_carries_tool_call_suggestions(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app), client(app, keys.engineering) as http:
        chunks = await events(http, chat(model("hello_call"), stream=True))
    calls = [c["choices"][0]["delta"]["tool_calls"] for c in chunks if c["choices"][0]["delta"].get("tool_calls")]
    assert calls[0][0]["function"]["name"] == "notes__list_notes"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_agent_stream_sends_the_loops_result(llm):
    keys = Keys()
    run = model("agent")
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering) as http:
            body = chat(run, stream=True, stream_options={"include_usage": True})
            chunks = await events(http, body, **{"x-mcp-mode": "agent"})
    first, finish, usage = chunks
    assert first["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "notes__add_note"
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert finish["mcp_guard"]["stopped"] == "approval" and len(finish["mcp_guard"]["executed"]) == 3
    assert usage["usage"]["total_tokens"] == finish["mcp_guard"]["usage"]["total_tokens"]
    assert all(b["body"]["stream"] is False for b in await received(llm.base_url, run))


async def test_a_stream_cut_by_the_provider_ends_with_an_error_event_and_is_audited(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        async with client(app, keys.engineering) as http:
            async with http.stream("POST", "/v1/chat/completions", json=chat(model("cut"), stream=True)) as response:
                lines = [line async for line in response.aiter_lines()]
        async with client(app, keys.admin) as admin:
            [record] = (await admin.get("/audit", params={"tool": "llm/*"})).json()["records"]
    data = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert response.status_code == 200 and text_of(data[:-1]) == "This answer will"
    assert data[-1]["error"]["type"] == "upstream_error" and "unreachable" in data[-1]["error"]["message"]
    assert (record["outcome"], record["reason"]) == ("failed", "upstream_error")
    assert record["arguments"]["completion_tokens"] > 0 and record["cost"] > 0  # what was streamed is charged
