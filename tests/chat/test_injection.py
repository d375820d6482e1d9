"""Tool injection: the model sees exactly the caller's visible tools (roles, key, team, header filters), plus
the caller's own tools, which must not clash with them."""

import pytest

from tests.governance.seed import Keys

from .world import chat, chat_document, chat_gateway, client, model, received, tool_names

pytestmark = pytest.mark.anyio

OWN = {"type": "function", "function": {"name": "my_lookup", "parameters": {"type": "object", "properties": {}}}}


async def sent_tools(llm, app, key, **headers):
    run = model("hello")
    async with client(app, key, **headers) as http:
        answer = await http.post("/v1/chat/completions", json=chat(run, tools=[OWN]))
    assert answer.status_code == 200, answer.text
    [request] = await received(llm.base_url, run)
    return tool_names(request["body"])


async def test_roles_and_header_filters_decide_what_is_injected(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        marketing = await sent_tools(llm, app, keys.marketing)
        engineering = await sent_tools(llm, app, keys.engineering)
        narrowed = await sent_tools(llm, app, keys.engineering, **{"x-mcp-include-tools": "notes/*"})
        excluded = await sent_tools(llm, app, keys.engineering, **{"x-mcp-exclude-tools": "notes/*,slow/*"})
        nothing = await sent_tools(llm, app, keys.engineering, **{"x-mcp-include-clients": ""})
    assert marketing == ["web-search__web_search", "my_lookup"]
    assert engineering == [
        "database__query", "filesystem__read_file", "notes__add_note", "notes__delete_note", "notes__list_notes",
        "slow__pause", "my_lookup",
    ]  # fmt: skip
    assert narrowed == ["notes__add_note", "notes__delete_note", "notes__list_notes", "my_lookup"]
    assert excluded == ["database__query", "filesystem__read_file", "my_lookup"]
    assert nothing == ["my_lookup"]


async def test_a_caller_tool_with_a_gateway_tools_name_is_refused(llm):
    keys = Keys()
    clash = {"type": "function", "function": {"name": "notes__list_notes"}}
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app), client(app, keys.engineering) as http:
        refused = await http.post("/v1/chat/completions", json=chat(model("hello"), tools=[clash]))
        hidden = await http.post(
            "/v1/chat/completions",
            json=chat(model("hello"), tools=[clash]),
            headers={"x-mcp-include-clients": "database"},
        )
    assert refused.status_code == 400
    assert refused.json()["clashes"] == ["notes__list_notes"] and "rename yours" in refused.json()["detail"]
    assert hidden.status_code == 200  # filtered out of this request: no clash


async def test_code_mode_injects_the_meta_tools_instead(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        names = await sent_tools(llm, app, keys.marketing, **{"x-mcp-code-mode": "true"})
    assert names == ["listToolFiles", "searchTools", "readToolFile", "executeToolCode", "my_lookup"]
