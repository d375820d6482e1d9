"""REST endpoints for resources and prompts (`router/rest_items.py`), through the standalone app with every
middleware on and the notes example server in process: what is listed, read and got is what the MCP endpoint
would give, governed alike (roles, team denials, filter headers, rate limits, pricing, audit), and hostile
input is a 4xx problem naming what is wrong."""

from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import MCPError

from tests.integration.test_resources_governance import NOTE_1, README, TEMPLATE, Keys, audit, governed, session

pytestmark = pytest.mark.anyio
PROBLEM = "application/problem+json"


@asynccontextmanager
async def rest(app: Any, key: str, **headers: str):
    headers["authorization"] = f"Bearer {key}"
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1/mcp", headers=headers) as http:
        yield http


def ok(answer: Any) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def problem(answer: Any, status: int, reason: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert body["type"] == f"urn:mcp-guard:problem:{reason}", body
    return body["detail"]


async def test_list_read_and_get_give_what_the_mcp_endpoint_gives():
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin) as mcp:
            await mcp.call_tool("notes__add_note", {"title": "secret", "body": "plans"})
            over_mcp = (await mcp.read_resource(NOTE_1)).contents[0].text
        async with rest(app, keys.admin) as http:
            listed = ok(await http.get("/resources"))
            assert [(r["uri"], r["name"]) for r in listed["resources"]] == [(README, "notes__readme")]
            assert "nextCursor" not in listed
            templates = ok(await http.get("/resources/templates"))["resourceTemplates"]
            assert [t["uriTemplate"] for t in templates] == [TEMPLATE]
            by_query = ok(await http.get("/resources/read", params={"uri": NOTE_1}))
            assert by_query["contents"] == [{"uri": NOTE_1, "mimeType": "text/plain", "text": over_mcp}]
            assert ok(await http.post("/resources/read", json={"uri": NOTE_1})) == by_query
            prompts = ok(await http.get("/prompts"))["prompts"]
            assert [p["name"] for p in prompts] == ["notes__summarize"]
            assert {a["name"] for a in prompts[0]["arguments"]} == {"topic", "style"}
            got = ok(await http.post("/prompts/get", json={"name": "notes__summarize", "arguments": {"topic": "x"}}))
            assert got["messages"][0]["content"]["text"] == "Summarize my notes about x (brief)."
        records = await audit(app, keys.admin, key="root")
        used = [(r["tool"], r["decision"]) for r in records if r["tool"].startswith(("resource:", "prompt:"))]
        assert sorted(used) == [
            ("prompt:summarize", "allowed"),
            ("resource:notes://notes/1", "allowed"),
            ("resource:notes://notes/1", "allowed"),
            ("resource:notes://notes/1", "allowed"),
        ]


async def test_a_key_without_the_grant_neither_sees_nor_reads_and_the_refusal_is_audited():
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin) as mcp:
            await mcp.call_tool("notes__add_note", {"title": "secret", "body": "plans"})
        async with session(app, keys.reader) as mcp:
            with pytest.raises(MCPError) as over_mcp:
                await mcp.read_resource(NOTE_1)
        async with rest(app, keys.reader) as http:
            assert [r["uri"] for r in ok(await http.get("/resources"))["resources"]] == [README]
            assert ok(await http.get("/resources/templates"))["resourceTemplates"] == []
            detail = problem(await http.get("/resources/read", params={"uri": NOTE_1}), 403, "not_allowed")
            assert detail == over_mcp.value.error.message  # refused exactly as over MCP, and as a hidden tool
            problem(await http.post("/resources/read", json={"uri": NOTE_1}), 403, "not_allowed")
            assert ok(await http.get("/resources/read", params={"uri": README}))["contents"][0]["text"]
        async with rest(app, keys.restricted) as http:
            assert ok(await http.get("/prompts"))["prompts"] == []  # the team denies prompt:notes/summarize
            detail = problem(await http.post("/prompts/get", json={"name": "notes__summarize"}), 403, "not_allowed")
            assert "Prompt 'summarize' of server 'notes'" in detail
        async with rest(app, keys.tools) as http:  # tools only: no resource, no prompt
            assert ok(await http.get("/resources"))["resources"] == []
            assert ok(await http.get("/prompts"))["prompts"] == []
            problem(await http.get("/resources/read", params={"uri": README}), 403, "not_allowed")
        refusals = await audit(app, keys.admin, key="reader-bot", tool="notes/resource:notes://notes/1")
        outcomes = [(r["decision"], r["reason"], r["outcome"]) for r in refusals]
        assert outcomes == [("denied", "not_allowed", "denied")] * 3  # one over MCP, two over REST
        [denied_prompt] = await audit(app, keys.admin, key="restricted-bot", tool="notes/prompt:summarize")
        assert denied_prompt["decision"] == "denied"


async def test_filter_headers_narrow_what_rest_lists_and_reads():
    keys = Keys()
    async with governed(keys) as app:
        async with rest(app, keys.admin, **{"x-mcp-include-resources": "notes/notes://notes/*"}) as http:
            assert ok(await http.get("/resources"))["resources"] == []
            assert len(ok(await http.get("/resources/templates"))["resourceTemplates"]) == 1
            detail = problem(await http.get("/resources/read", params={"uri": README}), 403, "filtered")
            assert "x-mcp-include-resources" in detail
        async with rest(app, keys.admin, **{"x-mcp-exclude-prompts": "notes__summarize"}) as http:
            assert ok(await http.get("/prompts"))["prompts"] == []
            detail = problem(await http.post("/prompts/get", json={"name": "notes__summarize"}), 403, "filtered")
            assert "x-mcp-exclude-prompts" in detail
        async with rest(app, keys.admin, **{"x-mcp-include-clients": "elsewhere"}) as http:
            assert ok(await http.get("/resources"))["resources"] == []
            assert ok(await http.get("/prompts"))["prompts"] == []


async def test_reads_over_rest_share_the_rate_limit_and_pricing():
    keys = Keys()
    extra = {
        "rate_limits": {"rules": [{"tools": "resource:notes/*", "limit": "2/minute"}]},
        "pricing": {"servers": {"notes": 1.0}, "tools": {"resource:notes/notes://examples/*": 0.25}},
    }
    async with governed(keys, **extra) as app:
        async with session(app, keys.admin) as mcp:
            await mcp.read_resource(README)
        async with rest(app, keys.admin) as http:
            ok(await http.get("/resources/read", params={"uri": README}))
            problem(await http.get("/resources/read", params={"uri": README}), 429, "rate_limited")
        reads = [r for r in await audit(app, keys.admin, key="root") if r["tool"] == "resource:notes://examples/readme"]
        assert sorted((r["decision"], r["cost"]) for r in reads) == [
            ("allowed", 0.25),
            ("allowed", 0.25),
            ("denied", 0.0),
        ]


async def test_hostile_input_is_a_4xx_naming_the_problem():
    keys = Keys()
    async with governed(keys) as app:
        async with rest(app, keys.admin) as http:
            assert "?uri=" in problem(await http.get("/resources/read"), 400, "bad_request")
            long_uri = {"uri": "x" * 9000}
            assert "characters" in problem(await http.get("/resources/read", params=long_uri), 400, "bad_request")
            raw_uri = {"uri": "file:///etc/passwd"}  # not a gateway URI
            unknown = problem(await http.get("/resources/read", params=raw_uri), 400, "bad_request")
            assert "Unknown resource URI 'file:///etc/passwd'" in unknown
            assert "uri" in problem(await http.post("/resources/read", json={"url": README}), 400, "bad_request")
            assert "uri" in problem(await http.post("/resources/read", json=[README]), 400, "bad_request")
            posted = await http.post("/resources/read", content=b"{", headers={"content-type": "application/json"})
            assert posted.status_code == 400 and posted.headers["content-type"].startswith(PROBLEM)
            problem(await http.post("/resources/read", content=b"uri=x"), 415, "unsupported_media_type")
            missing = problem(await http.post("/prompts/get", json={"name": "elsewhere__nope"}), 404, "not_found")
            assert "Unknown prompt 'elsewhere__nope'" in missing
            unknown_prompt = problem(await http.post("/prompts/get", json={"name": "notes__nope"}), 404, "not_found")
            assert "Unknown prompt 'notes__nope'" in unknown_prompt and "no prompt 'nope'" in unknown_prompt
            no_topic = problem(await http.post("/prompts/get", json={"name": "notes__summarize"}), 400, "bad_request")
            assert "'notes__summarize' requires argument(s) topic" in no_topic
            nowhere = {"uri": "mcp-guard://notes/notes://nope"}  # a known server without that resource
            no_resource = problem(await http.get("/resources/read", params=nowhere), 400, "bad_request")
            assert "'mcp-guard://notes/notes://nope'" in no_resource and "Unknown resource" in no_resource
            bad_args = {"name": "notes__summarize", "arguments": {"topic": 3}}
            assert "arguments.topic" in problem(await http.post("/prompts/get", json=bad_args), 400, "bad_request")
            cursor = problem(await http.get("/resources", params={"cursor": "not-ours"}), 400, "bad_request")
            assert "Invalid cursor 'not-ours'" in cursor
            problem(await http.get("/prompts", params={"cursor": "eyJ4Ijox"}), 400, "bad_request")
            assert (await http.delete("/prompts")).status_code == 405


async def test_the_openapi_document_describes_the_routes():
    keys = Keys()
    async with governed(keys) as app:
        async with rest(app, keys.admin) as http:
            document = ok(await http.get("/openapi.json"))
    paths, schemas = document["paths"], document["components"]["schemas"]
    read = paths["/mcp/resources/read"]
    assert {p["name"] for p in read["get"]["parameters"]} >= {"uri", "x-mcp-include-resources"}
    assert read["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReadResource"
    }
    assert schemas["GetPrompt"]["required"] == ["name"]
    answers = {path: paths[path]["get"]["responses"]["200"] for path in ("/mcp/resources", "/mcp/prompts")}
    assert answers["/mcp/resources"]["content"]["application/json"]["schema"]["$ref"].endswith("/ResourceList")
    assert answers["/mcp/prompts"]["content"]["application/json"]["schema"]["$ref"].endswith("/PromptList")
    assert "PromptMessages" in schemas and "ResourceContents" in schemas
