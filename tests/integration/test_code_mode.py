"""Code Mode through the gateway: meta-tools instead of catalogs, programs run against real upstreams,
and every inner call governed by the one pipeline at call time."""

import json

import pytest

from mcp_guard import Gateway, GatewayConfig, ServerConfig
from mcp_guard.code_mode import call_meta_tool
from mcp_guard.state import RequestState
from tests.governance.seed import Keys
from tests.governance.walkthrough_app import CALLS, governed_gateway, http, mcp_session, walkthrough_document
from tests.support.servers import notes_stdio_params

from .gateway_fixtures import make_tools, mcp_client

pytestmark = pytest.mark.anyio

META = {"listToolFiles", "searchTools", "readToolFile", "executeToolCode"}


def notes_in_code_mode() -> Gateway:
    notes = notes_stdio_params()
    server = ServerConfig(name="notes", transport="stdio", command=notes.command, args=notes.args, code_mode=True)
    return Gateway(GatewayConfig(servers=[server]), inprocess=[make_tools()])


async def run(client, code: str) -> dict:
    result = await client.call_tool("executeToolCode", {"code": code})
    return {"is_error": result.is_error, "text": result.content[0].text, **(result.structured_content or {})}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_code_mode_server_shows_meta_tools_and_refuses_direct_calls(mode):
    gateway = notes_in_code_mode()
    async with gateway.lifespan(), mcp_client(gateway.router, mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert META <= names and "calc__add" in names
        assert not any(n.startswith("notes__") for n in names)
        direct = await client.call_tool("notes__echo", {"text": "x"})
        assert direct.is_error and "reachable only through Code Mode" in direct.content[0].text
        files = (await client.call_tool("listToolFiles", {})).content[0].text
        assert "servers/notes.d.ts" in files and "servers/calc.d.ts" not in files
        declarations = (await client.call_tool("readToolFile", {"fileName": "servers/notes.d.ts"})).content[0].text
        assert "declare const notes" in declarations and "addNote(args: Notes.AddNoteInput)" in declarations
        missing = await client.call_tool("readToolFile", {"fileName": "servers/nope.d.ts"})
        assert missing.is_error and "servers/notes.d.ts" in missing.content[0].text


async def test_seed_example_search_map_and_count():
    gateway = notes_in_code_mode()
    program = """
        interface Note { id: number; title: string }
        for (const title of ["mcp gateway", "mcp router", "lunch"]) {
            await notes.addNote({ title, body: `about ${title}` });
        }
        const found = (await notes.searchNotes({ query: "mcp" })).result as Note[];  // typed by the output schema
        const titles: string[] = found.map((n) => n.title.toUpperCase());
        console.log(`found ${titles.length}`);
        return { count: titles.length, titles };
    """
    async with gateway.lifespan(), mcp_client(gateway.router) as client:
        result = await run(client, program)
    assert not result["is_error"], result["text"]
    assert result["value"] == {"count": 2, "titles": ["MCP GATEWAY", "MCP ROUTER"]}
    assert result["logs"] == ["found 2"]
    assert [c["tool"] for c in result["calls"]] == ["add_note"] * 3 + ["search_notes"]


async def test_write_after_read_across_two_servers_with_promise_all():
    gateway = notes_in_code_mode()
    program = """
        await Promise.all([1, 2, 3].map((i) => notes.addNote({ title: `n${i}`, body: "x" })));
        const all = (await notes.listNotes({})).result;
        const total = await calc.add({ a: all.length, b: 10 });
        const saved = await notes.addNote({ title: "total", body: String(total?.result ?? total) });
        return { total, saved };
    """
    async with gateway.lifespan(), mcp_client(gateway.router, headers={"x-mcp-code-mode": "true"}) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == META  # the header puts every server behind Code Mode
        result = await run(client, program)
    assert not result["is_error"], result["text"]
    assert result["value"]["total"] == {"result": 13}
    assert result["value"]["saved"]["title"] == "total"


async def test_errors_come_back_with_kind_position_and_hint():
    gateway = notes_in_code_mode()
    async with gateway.lifespan(), mcp_client(gateway.router) as client:
        typo = await run(client, "const x = 1;\nreturn await notse.echo({ text: 'x' });")
        assert typo["is_error"] and typo["error"]["kind"] == "runtime" and typo["error"]["line"] == 2
        assert "did you mean 'notes'" in typo["error"]["hint"]
        enum = await run(client, "const a = 1;\n  enum Color { Red }")
        assert enum["error"]["kind"] == "unsupported-typescript" and (
            enum["error"]["line"],
            enum["error"]["column"],
        ) == (2, 3)
        failing = await run(client, "return await notes.fail({ message: 'boom' });")
        assert failing["error"]["kind"] == "upstream" and "boom" in failing["error"]["message"]


async def test_inner_calls_are_governed_at_call_time_whatever_the_alias():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with mcp_session(app, keys.marketing, **{"x-mcp-code-mode": "true"}) as session:
            files = (await session.call_tool("listToolFiles", {})).content[0].text
            assert "web-search" in files and "database" not in files  # only what the key may see
            for program in (
                "return await database.query({ sql: 'select 1' });",
                "const d = globalThis['data' + 'base']; return await d.query({ sql: 'x' });",
                "const s: any = webSearch; return await s['query']({ sql: 'x' });",
            ):
                result = await run(session, program)
                assert result["is_error"], program
            searched = await run(session, "return await webSearch.webSearch({ q: 'mcp' });")
            assert searched["value"] == {"result": "results for mcp"}
        assert CALLS["database/query"] == 0
        records = await gateway.governance.audit.query(key_id="marketing-bot", limit=50)
    executions = [r for r in records if r["tool"] == "executeToolCode"]
    inner = [r for r in records if r["tool"] == "web_search"]
    assert len(executions) == 4 and len(inner) == 1
    assert inner[0]["parent_id"] in {r["call_id"] for r in executions}
    assert inner[0]["mode"] == "code" and inner[0]["entry"] == "code"


async def test_budget_running_out_mid_program_stops_further_calls():
    keys = Keys()
    document = walkthrough_document(keys)
    document["teams"]["engineering"]["budget"] = {"limit": 0.03, "period": "1d"}  # three $0.01 queries
    program = """
        const done: number[] = [];
        try {
            for (let i = 0; i < 10; i++) { await database.query({ sql: `select ${i}` }); done.push(i); }
        } catch (e: any) { return { done: done.length, kind: e.kind, message: e.message }; }
        return { done: done.length };
    """
    async with governed_gateway(document) as (gateway, app):
        async with mcp_session(app, keys.engineering, **{"x-mcp-code-mode": "true"}) as session:
            result = await run(session, program)
    assert result["value"]["done"] == 3 and result["value"]["kind"] == "denied"
    assert "Budget of team 'engineering' exceeded" in result["value"]["message"]
    assert CALLS["database/query"] == 3


async def test_agent_rule_fails_an_execution_that_calls_a_tool_needing_approval():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        state = RequestState(principal=gateway.governance.keys.authenticate(keys.engineering).principal, code_mode=True)
        state.access.append(gateway.governance.keys.authenticate(keys.engineering).access)
        program = """
            const rows = await database.query({ sql: "select 1" });
            try { await filesystem.readFile({ path: "/etc/hosts" }); } catch (e) { return "caught"; }
            return rows;
        """
        result = await call_meta_tool(
            gateway, state, "executeToolCode", {"code": program}, entry_point="agent",
            auto_only=lambda ref: ref.server == "database",
        )  # fmt: skip
    body = json.loads(json.dumps(result.structured_content))
    assert result.is_error and body["error"]["kind"] == "denied"
    assert "needs approval" in body["error"]["message"]  # fatal: a try/catch in the program cannot swallow it
    assert CALLS["database/query"] == 1 and CALLS["filesystem/read_file"] == 0


async def test_code_mode_per_team_and_per_runtime_key():
    keys = Keys()
    document = walkthrough_document(keys)
    document["teams"]["engineering"]["code_mode"] = True
    async with governed_gateway(document) as (gateway, app):
        async with mcp_session(app, keys.engineering) as engineer:
            assert {t.name for t in (await engineer.list_tools()).tools} == META
            result = await run(engineer, "return await database.query({ sql: 'select 1' });")
            assert result["value"] == {"result": [{"sql": "select 1"}]}
        async with mcp_session(app, keys.marketing) as marketer:
            assert {t.name for t in (await marketer.list_tools()).tools} == {"web-search__web_search"}
        async with http(app, keys.admin) as admin:
            created = await admin.post("/keys", json={"name": "coder", "roles": ["marketing"], "code_mode": True})
            assert created.status_code == 201 and created.json()["code_mode"] is True
        async with mcp_session(app, created.json()["key"]) as coder:
            assert {t.name for t in (await coder.list_tools()).tools} == META


async def test_a_tool_result_over_the_limit_throws_a_catchable_limit_error():
    notes = notes_stdio_params()
    server = ServerConfig(name="notes", transport="stdio", command=notes.command, args=notes.args, code_mode=True)
    config = GatewayConfig(servers=[server], code_mode={"max_tool_result_bytes": 2048})
    gateway = Gateway(config)
    program = """
        const small = await notes.echo({ text: "fits" });
        try {
            await notes.echo({ text: "x".repeat(5000) });
            return "handed over";
        } catch (e) {
            return { small, kind: e.kind, message: e.message };
        }
    """
    async with gateway.lifespan(), mcp_client(gateway.router) as client:
        outcome = await run(client, program)
    assert not outcome["is_error"], outcome
    value = outcome["value"]
    assert value["kind"] == "limit" and "over the 2048-byte limit" in value["message"]
    assert "max_tool_result_bytes" in value["message"] and value["small"]  # the small result came through
    (big,) = [call for call in outcome["calls"] if not call["ok"]]
    assert big["tool"] == "echo" and big["error"].startswith("limit: result of ")


async def test_limits_per_role_team_and_key_apply_to_each_callers_runs():
    keys = Keys()
    document = walkthrough_document(keys)
    document["roles"]["engineering"]["code_mode_limits"] = {"max_tool_calls": 2, "timeout_seconds": 20}
    document["roles"]["marketing"]["code_mode_limits"] = {"max_tool_calls": 1}
    document["teams"]["marketing"]["code_mode_limits"] = {"max_tool_calls": 3}  # the team's value wins over roles
    program = """
        let done = 0;
        try { for (let i = 0; i < 5; i++) { await CALL; done++; } }
        catch (e: any) { return { done, kind: e.kind, limit: e.limit }; }
        return { done };
    """
    async with governed_gateway(document) as (gateway, app):
        async with mcp_session(app, keys.engineering, **{"x-mcp-code-mode": "true"}) as engineer:
            eng = await run(engineer, program.replace("CALL", "database.query({ sql: 'select 1' })"))
        async with mcp_session(app, keys.marketing, **{"x-mcp-code-mode": "true"}) as marketer:
            mkt = await run(marketer, program.replace("CALL", "webSearch.webSearch({ q: 'mcp' })"))
        engineer_settings = gateway.code_mode_service.settings_for(_state_of(gateway, keys.engineering))
    assert eng["value"] == {"done": 2, "kind": "limit", "limit": "max_tool_calls"}
    assert mkt["value"] == {"done": 3, "kind": "limit", "limit": "max_tool_calls"}
    assert engineer_settings.timeout_seconds == 20 and engineer_settings.max_tool_calls == 2
    assert engineer_settings.memory_limit_bytes == gateway.config.code_mode.memory_limit_bytes  # the rest unchanged


def _state_of(gateway, key):
    return RequestState(principal=gateway.governance.keys.authenticate(key).principal)


async def test_classic_clients_find_tools_with_search_tools_and_call_them_directly():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with mcp_session(app, keys.engineering, **{"x-mcp-tool-search": "true"}) as session:
            listed = {t.name for t in (await session.list_tools()).tools}
            assert listed == {"search_tools"}
            found = await session.call_tool("search_tools", {"query": "run a SQL query on the database", "limit": 3})
            tools = json.loads(found.content[0].text)["tools"]
            assert tools[0]["name"] == "database__query" and "inputSchema" in tools[0]
            assert all(not t["name"].startswith("web-search") for t in tools)  # engineering may not see web search
            called = await session.call_tool(tools[0]["name"], {"sql": "select 1"})
            assert not called.is_error
        async with mcp_session(app, keys.engineering) as plain:
            names = {t.name for t in (await plain.list_tools()).tools}
            assert "search_tools" not in names and "database__query" in names
            refused = await plain.call_tool("search_tools", {"query": "sql"})
            assert refused.is_error and "not offered" in refused.content[0].text


async def test_a_crashed_run_is_one_clear_error_and_one_audit_record():
    keys = Keys()
    async with governed_gateway(walkthrough_document(keys)) as (gateway, app):
        async with mcp_session(app, keys.engineering, **{"x-mcp-code-mode": "true"}) as session:
            crashed = await run(session, "return Array.prototype.sort.call({ length: 2 ** 32 - 1 });")
            after = await run(session, "return await database.query({ sql: 'select 1' });")
        records = await gateway.governance.audit.query(key_id="eng-bot", limit=50)
    assert crashed["is_error"] and crashed["error"]["kind"] == "memory"
    assert "worker process was stopped" in crashed["error"]["message"]
    assert after["value"] == {"result": [{"sql": "select 1"}]}
    executions = [r for r in records if r["tool"] == "executeToolCode"]
    assert len(executions) == 2
    failed = [r for r in executions if r["outcome"] == "tool_error"]
    assert len(failed) == 1 and failed[0]["error"].startswith("memory: ")
