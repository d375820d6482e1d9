"""Governance of resources, prompts and completions on the MCP endpoint, through the standalone app (every
middleware on): roles, team denials and filter headers decide what is listed, and what is not listed
cannot be read, got or completed either; refusals and uses are audited, reads are rate limited and priced.
The upstream is the notes example server, run in process (over the SDK's in-memory client)."""

import importlib.util
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.names import gateway_uri
from mcp_guard.server import standalone_app
from tests.support.servers import EXAMPLES_DIR

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]
README = gateway_uri("notes", "notes://examples/readme")
NOTE_1 = gateway_uri("notes", "notes://notes/1")
TEMPLATE = gateway_uri("notes", "notes://notes/{id}")


def notes_server() -> Any:
    spec = importlib.util.spec_from_file_location("notes_example", EXAMPLES_DIR / "notes_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_server()


class Keys:
    def __init__(self) -> None:
        self.reader, self.restricted, self.tools, self.admin, self.notes = (generate_key() for _ in range(5))

    def document(self, **extra: Any) -> dict[str, Any]:
        return {
            "roles": {
                "reader": {"resources": ["notes/notes://examples/*"], "prompts": ["notes/*"]},
                "toolsmith": {"tools": ["notes/*"]},
                "admin": {"tools": ["*"], "resources": ["*"], "prompts": ["*"], "admin": True},
            },
            "teams": {"restricted": {"deny": ["prompt:notes/summarize"]}},
            "keys": [
                {"name": "reader-bot", "hash": hash_key(self.reader), "roles": ["reader"]},
                {
                    "name": "restricted-bot",
                    "hash": hash_key(self.restricted),
                    "roles": ["reader"],
                    "team": "restricted",
                },
                {"name": "tools-bot", "hash": hash_key(self.tools), "roles": ["toolsmith"]},
                {"name": "root", "hash": hash_key(self.admin), "roles": ["admin"]},
                {"name": "note-bot", "hash": hash_key(self.notes), "allow": ["resource:notes/notes://notes/*"]},
            ],
            "auth": {"store": "memory://"},
            "audit": {"sink": "memory://", "synchronous": True},
            **extra,
        }


@asynccontextmanager
async def governed(keys: Keys, **extra: Any):
    gateway = Gateway(parse_config(keys.document(**extra)), inprocess=[notes_server()])
    app = standalone_app(gateway)
    async with gateway.lifespan():
        yield app


@asynccontextmanager
async def session(app: Any, key: str, mode: str = "auto", **headers: str):
    headers["authorization"] = f"Bearer {key}"
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), headers=headers) as http:
        async with Client(streamable_http_client("http://127.0.0.1/mcp", http_client=http), mode=mode) as client:
            yield client


async def audit(app: Any, admin_key: str, **query: str) -> list[dict[str, Any]]:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), headers={"authorization": f"Bearer {admin_key}"}
    ) as http:
        answer = await http.get("http://127.0.0.1/mcp/audit", params=query)
        assert answer.status_code == 200, answer.text
        return answer.json()["records"]


async def refused(call: Any) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize("mode", ERAS)
async def test_a_key_that_may_not_read_a_resource_neither_sees_nor_reads_it(mode):
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin, mode) as admin:
            await admin.call_tool("notes__add_note", {"title": "secret", "body": "plans"})
            assert [r.uri for r in (await admin.list_resources()).resources] == [README]
            assert (await admin.read_resource(NOTE_1)).contents[0].text == "secret: plans"
        async with session(app, keys.reader, mode) as reader:
            assert [r.uri for r in (await reader.list_resources()).resources] == [README]
            assert (await reader.list_resource_templates()).resource_templates == []  # notes://notes/* not granted
            assert (await reader.read_resource(README)).contents[0].text.startswith("Notes keeps")
            error = await refused(reader.read_resource(NOTE_1))
            assert error.error.code == -32602
            assert error.error.message == (
                "Resource 'notes://notes/1' of server 'notes' is not allowed for key 'reader-bot' (roles: reader)"
            )
            assert error.error.data["reason"] == "not_allowed"
            denied = await refused(
                reader.complete(types.ResourceTemplateReference(uri=TEMPLATE), {"name": "id", "value": ""})
            )
            assert "not allowed for key 'reader-bot'" in denied.error.message
        async with session(app, keys.notes, mode) as note_bot:  # a key's own `allow`, no role at all
            assert (await note_bot.list_resources()).resources == []
            assert [t.uri_template for t in (await note_bot.list_resource_templates()).resource_templates] == [TEMPLATE]
            assert (await note_bot.read_resource(NOTE_1)).contents[0].text == "secret: plans"
            assert (
                "not allowed for key 'note-bot' (roles: none)"
                in (await refused(note_bot.read_resource(README))).error.message
            )
        records = await audit(app, keys.admin, key="reader-bot")
        by_tool = {(r["tool"], r["decision"]) for r in records}
        assert ("resource:notes://notes/1", "denied") in by_tool
        assert ("resource:notes://examples/readme", "allowed") in by_tool
        assert ("completion:resource:" + TEMPLATE, "denied") in by_tool
        [refusal] = await audit(app, keys.admin, key="reader-bot", tool="notes/resource:notes://notes/1")
        assert refusal["server"] == "notes" and refusal["reason"] == "not_allowed" and refusal["outcome"] == "denied"


@pytest.mark.parametrize("mode", ERAS)
async def test_prompts_follow_roles_and_team_denials(mode):
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.reader, mode) as reader:
            assert [p.name for p in (await reader.list_prompts()).prompts] == ["notes__summarize"]
            got = await reader.get_prompt("notes__summarize", {"topic": "plans"})
            assert got.messages[0].content.text == "Summarize my notes about plans (brief)."
            styles = await reader.complete(
                types.PromptReference(name="notes__summarize"), {"name": "style", "value": "d"}
            )
            assert styles.completion.values == ["detailed"]
        for key, name in [(keys.restricted, "restricted-bot"), (keys.tools, "tools-bot")]:
            async with session(app, key, mode) as other:
                assert (await other.list_prompts()).prompts == []
                readable = [r.uri for r in (await other.list_resources()).resources]
                assert readable == ([README] if name == "restricted-bot" else [])  # the team denies prompts only
                error = await refused(other.get_prompt("notes__summarize", {"topic": "plans"}))
                assert error.error.code == -32602 and f"not allowed for key '{name}'" in error.error.message
                await refused(
                    other.complete(types.PromptReference(name="notes__summarize"), {"name": "style", "value": ""})
                )
            records = await audit(app, keys.admin, key=name)
            assert {(r["tool"], r["decision"]) for r in records} == {
                ("prompt:summarize", "denied"),
                ("completion:prompt:notes__summarize", "denied"),
            }
        allowed = await audit(app, keys.admin, key="reader-bot")
        assert [(r["tool"], r["decision"], r["arguments"]) for r in allowed if r["tool"] == "prompt:summarize"] == [
            ("prompt:summarize", "allowed", {"topic": "plans"})
        ]


@pytest.mark.parametrize("mode", ERAS)
async def test_filter_headers_narrow_resources_and_prompts(mode):
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin, mode, **{"x-mcp-include-resources": "notes/notes://notes/*"}) as only_notes:
            assert (await only_notes.list_resources()).resources == []
            assert [t.uri_template for t in (await only_notes.list_resource_templates()).resource_templates] == [
                TEMPLATE
            ]
            error = await refused(only_notes.read_resource(README))
            assert error.error.message == (
                "Resource 'notes://examples/readme' of server 'notes' is filtered out: "
                "it is not in this request's x-mcp-include-resources"
            )
            assert len((await only_notes.list_prompts()).prompts) == 1  # a resource filter leaves prompts alone
        async with session(
            app, keys.admin, mode, **{"x-mcp-exclude-resources": README, "x-mcp-exclude-prompts": "notes__summarize"}
        ) as excluding:
            assert (await excluding.list_resources()).resources == []
            assert (await excluding.list_prompts()).prompts == []
            assert (
                "x-mcp-exclude-prompts"
                in (await refused(excluding.get_prompt("notes__summarize", {"topic": "x"}))).error.message
            )
            assert len((await excluding.list_tools()).tools) > 0  # ...and tools alone
        async with session(app, keys.admin, mode, **{"x-mcp-include-clients": "elsewhere"}) as nowhere:
            assert (await nowhere.list_resources()).resources == [] and (await nowhere.list_prompts()).prompts == []
            assert "x-mcp-include-clients" in (await refused(nowhere.read_resource(README))).error.message
        headers = {"authorization": f"Bearer {keys.admin}", "x-mcp-include-prompts": "notes/"}
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), headers=headers) as http:
            malformed = await http.get("http://127.0.0.1/mcp/tools")  # refused before any route runs
        assert malformed.status_code == 400
        assert "x-mcp-include-prompts: entry 'notes/'" in malformed.json()["detail"]


async def test_reads_are_rate_limited_priced_and_blockable():
    keys = Keys()
    extra = {
        "rate_limits": {"rules": [{"tools": "resource:notes/*", "limit": "2/minute"}]},
        "pricing": {"servers": {"notes": 1.0}, "tools": {"resource:notes/notes://examples/*": 0.25}},
        "blocked_tools": ["prompt:*/summarize"],
    }
    async with governed(keys, **extra) as app:
        async with session(app, keys.admin) as admin:
            assert (await admin.list_prompts()).prompts == []  # blocked for everyone, admin included
            await refused(admin.get_prompt("notes__summarize", {"topic": "x"}))
            for _ in range(2):
                await admin.read_resource(README)
            limited = await refused(admin.read_resource(README))
            assert limited.error.code == -32603 and limited.error.data["reason"] == "rate_limited"
            assert "Resource 'notes://examples/readme' of server 'notes'" in limited.error.message
            assert (await admin.call_tool("notes__echo", {"text": "tools are not counted"})).is_error is False
        records = await audit(app, keys.admin, key="root")
        reads = [r for r in records if r["tool"] == "resource:notes://examples/readme"]
        assert sorted((r["decision"], r["reason"], r["cost"]) for r in reads) == [
            ("allowed", None, 0.25),
            ("allowed", None, 0.25),
            ("denied", "rate_limited", 0.0),
        ]
        blocked = next(r for r in records if r["tool"] == "prompt:summarize")
        assert blocked["decision"] == "denied" and blocked["error"] == "Prompt 'summarize' of server 'notes' is blocked"
