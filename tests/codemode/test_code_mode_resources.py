"""Code Mode programs read resources and get prompts (`resources` / `prompts` globals, code_mode_items.py)
through the pipeline, under the calling key's grants and filter headers: through the standalone app with
every middleware on and the notes example server in process. A resource the caller may not read is a
catchable ToolError "denied" in the program, and the refusal is audited like the reads are."""

import json
from typing import Any

import pytest

from tests.integration.test_resources_governance import NOTE_1, README, Keys, audit, governed, session

pytestmark = pytest.mark.anyio
CODE = {"x-mcp-code-mode": "true"}

PROGRAM = f"""
const listed = await resources.list();
const readme = await resources.read({json.dumps(README)});
const templates = await resources.templates();
const prompt = await prompts.get("notes__summarize", {{ topic: "tests" }});
const names = (await prompts.list()).prompts.map((p) => p.name);
let hidden: any = null;
try {{
  await resources.read({json.dumps(NOTE_1)});
}} catch (e: any) {{
  hidden = [e.name, e.kind, e.server, e.tool, e.message];
}}
return {{
  uris: listed.resources.map((r) => r.uri),
  readme: readme.contents[0].text.slice(0, 11),
  templates: templates.resourceTemplates.length,
  prompt: prompt.messages[0].content.text,
  names,
  hidden,
}};
"""


async def run(client: Any, program: str) -> dict[str, Any]:
    result = await client.call_tool("executeToolCode", {"code": program})
    body = result.structured_content or {}
    assert body.get("ok") is True, body
    return body


async def test_a_program_reads_resources_and_gets_prompts_as_its_key_may():
    keys = Keys()
    filtered = {"x-mcp-exclude-resources": "notes/notes://notes/*"}  # hides note 1 from this request only
    async with governed(keys) as app:
        async with session(app, keys.admin, **CODE, **filtered) as admin:
            await admin.call_tool("notes__add_note", {"title": "secret", "body": "plans"})
            body = await run(admin, PROGRAM)
    value = body["value"]
    assert value["uris"] == [README]
    assert value["readme"] == "Notes keeps"
    assert value["templates"] == 0  # the template's URIs are filtered out too
    assert value["prompt"] == "Summarize my notes about tests (brief)."
    assert value["names"] == ["notes__summarize"]
    name, kind, server, tool, message = value["hidden"]
    assert (name, kind, server, tool) == ("ToolError", "denied", "", "resources.read")
    assert "is filtered out" in message and "x-mcp-exclude-resources" in message
    calls = [(c["server"], c["tool"], c["ok"]) for c in body["calls"]]
    assert ("", "resources.read", False) in calls and ("", "prompts.get", True) in calls
    records = await audit(app, keys.admin, key="root")
    [execution] = [r for r in records if r["tool"] == "executeToolCode"]
    used = {
        (r["tool"], r["decision"], r["parent_id"]) for r in records if r["tool"].startswith(("resource:", "prompt:"))
    }
    assert used == {
        ("resource:notes://examples/readme", "allowed", execution["call_id"]),
        ("prompt:summarize", "allowed", execution["call_id"]),
        ("resource:notes://notes/1", "denied", execution["call_id"]),
    }


async def test_a_key_without_resource_grants_reads_nothing_from_a_program():
    keys = Keys()
    program = f"""
    const listed = await resources.list();
    try {{ await resources.read({json.dumps(README)}); return "read"; }}
    catch (e: any) {{ return [listed.resources.length, e.kind, e.message]; }}
    """
    async with governed(keys) as app:
        async with session(app, keys.tools, **CODE) as toolsmith:  # tools notes/*, no resources
            count, kind, message = (await run(toolsmith, program))["value"]
    assert (count, kind) == (0, "denied")
    assert "not allowed for key 'tools-bot'" in message
    [refusal] = await audit(app, keys.admin, key="tools-bot", tool="notes/resource:notes://examples/readme")
    assert refusal["decision"] == "denied" and refusal["reason"] == "not_allowed"


async def test_a_forged_gateway_operation_is_refused():
    keys = Keys()
    program = "try { await (prompts as any).get(42); } catch (e: any) { return [e.name, e.message]; }"
    async with governed(keys) as app:
        async with session(app, keys.admin, **CODE) as admin:
            name, message = (await run(admin, program))["value"]
    assert name == "TypeError" and "prompts.get(name) must be a string" in message


@pytest.mark.parametrize(
    ("server", "tool"),
    [("", "tools/call"), ("", "resources.subscribe"), ("", "notes__add_note"), ("notes", "resources.read")],
)
async def test_the_bridge_admits_only_the_gateway_operations_on_the_gateway_server(server, tool):
    """What a compromised worker could send: any server and tool on its call frame. Only the operations the
    globals make reach the caller, and only on server "" (a server's own tools need the caller's listing)."""
    from mcp_guard.codemode import CodeModeSettings, ToolOutcome
    from mcp_guard.codemode.bridge import CallBridge

    reached: list[tuple[str, str]] = []

    async def caller(server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        reached.append((server, tool))
        return ToolOutcome(value="read")

    bridge = CallBridge(caller, {"notes": ["add_note"]}, CodeModeSettings())
    forged = json.loads((await bridge.answer(server, tool, b'{"uri": "x"}')).payload)
    assert forged["error"]["kind"] == "denied" and "unknown tool" in forged["error"]["message"]
    allowed = json.loads((await bridge.answer("", "resources.read", b'{"uri": "x"}')).payload)
    assert allowed == {"ok": True, "value": "read"} and reached == [("", "resources.read")]
