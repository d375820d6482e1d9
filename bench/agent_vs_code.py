"""The same five-step task, classic agent mode versus Code Mode, through the gateway's chat endpoint and the
scripted OpenAI-compatible model (tests/chat/scripted_llm.py): model turns and prompt tokens sent.

The gateway fronts five servers with realistic catalogs (`codemode_fixtures.SERVERS[:5]`, about 100 tools),
each an in-process MCP server that answers every call with a small JSON object, all tools on the
servers' `auto_execute` lists. The task is five dependent reads (two on Linear, three on Supabase).

- classic: every turn carries the whole catalog; the model makes one call per turn (each step needs the
  previous result), then answers: 6 turns.
- code: the model lists the files, reads the two `.d.ts` files it needs (one turn, two calls), writes one
  program that makes the five calls, then answers: 4 turns. The `.d.ts` text it read stays in the
  conversation and is counted.

Prompt tokens are counted with tiktoken `o200k_base` over what the model server actually received
(messages and tools of every request, as JSON); the usage the gateway summed (the scripted server's
size/4 estimate) is recorded too.

    .venv/bin/python bench/agent_vs_code.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp.server import Server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_label, write_result  # noqa: E402
from codemode_fixtures import SERVERS  # noqa: E402
from codemode_tokens import o200k  # noqa: E402
from tests.support.processes import ServerProcess, free_port  # noqa: E402

from mcp_guard import Gateway  # noqa: E402
from mcp_guard.config import parse_config  # noqa: E402

SCRIPTED_LLM = ROOT / "tests" / "chat" / "scripted_llm.py"
STEPS = [
    ("linear__list_comments", {"issueId": "LIN-42"}),
    ("linear__get_document", {"id": "release-notes"}),
    ("supabase__get_project", {"id": "proj-7"}),
    ("supabase__list_extensions", {"project_id": "proj-7"}),
    ("supabase__list_migrations", {"project_id": "proj-7"}),
]
PROGRAM = """
const comments = await linear.listComments({ issueId: "LIN-42" });
const doc = await linear.getDocument({ id: "release-notes" });
const project = await supabase.getProject({ id: "proj-7" });
const [extensions, migrations] = await Promise.all([
  supabase.listExtensions({ project_id: "proj-7" }),
  supabase.listMigrations({ project_id: "proj-7" }),
]);
return { comments, doc, project, extensions, migrations };
"""
ANSWER = {"content": "The release is ready: comments reviewed, notes current, project healthy, migrations applied."}


def _turn(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"content": None, "tool_calls": [{"name": name, "arguments": args} for name, args in calls]}


SCRIPTS = {
    "classic": [*(_turn(step) for step in STEPS), ANSWER],
    "code": [
        _turn(("listToolFiles", {})),
        _turn(
            ("readToolFile", {"fileName": "servers/linear.d.ts"}),
            ("readToolFile", {"fileName": "servers/supabase.d.ts"}),
        ),
        _turn(("executeToolCode", {"code": PROGRAM})),
        ANSWER,
    ],
}


def fixture_server(name: str, tools: list[dict[str, Any]]) -> Server[Any]:
    """An in-process MCP server publishing a fixture catalog; every call answers a small JSON object."""
    listed = [types.Tool(name=t["name"], description=t["description"], input_schema=t["inputSchema"]) for t in tools]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        text = json.dumps({"tool": f"{name}/{params.name}", "arguments": params.arguments, "status": "ok"})
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


def gateway_for(llm_url: str) -> Gateway:
    servers = SERVERS[:5]
    document = {
        "servers": {name: {"transport": "inprocess", "target": "bench", "auto_execute": ["*"]} for name, _ in servers},
        "llm": {"providers": {"scripted": {"base_url": llm_url}}},
    }
    return Gateway(parse_config(document), inprocess=[fixture_server(name, tools) for name, tools in servers])


async def run_task(gateway: Gateway, llm_base: str, script: str, headers: dict[str, str]) -> dict[str, Any]:
    transport = httpx2.ASGITransport(app=gateway.router)
    body = {"model": f"scripted/{script}", "messages": [{"role": "user", "content": "Is the release ready?"}]}
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60) as http:
        answer = (await http.post("/v1/chat/completions", json=body, headers={"x-mcp-mode": "agent", **headers})).json()
    async with httpx2.AsyncClient() as http:
        requests = (await http.get(f"{llm_base}/_received/{script}")).json()
    encoding = o200k()
    sent = [len(encoding.encode(json.dumps([r["body"]["messages"], r["body"].get("tools")]))) for r in requests]
    if answer["mcp_guard"]["stopped"] != "answer" or any(s["is_error"] for s in answer["mcp_guard"]["executed"]):
        raise RuntimeError(f"{script}: the task did not complete: {json.dumps(answer['mcp_guard'])[:2000]}")
    return {
        "model_turns": len(requests),
        "tool_calls_executed": len(answer["mcp_guard"]["executed"]),
        "prompt_tokens_sent": sum(sent),
        "prompt_tokens_per_turn": sent,
        "prompt_tokens_reported": answer["usage"]["prompt_tokens"],
    }


async def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "scripts.json"
        scripts.write_text(json.dumps(SCRIPTS))
        port = free_port()
        argv = [sys.executable, str(SCRIPTED_LLM), "--port", str(port), "--scripts", str(scripts)]
        async with ServerProcess(argv, port=port, path="/v1") as llm:
            gateway = gateway_for(llm.url)
            async with gateway.lifespan():
                classic = await run_task(gateway, llm.base_url, "classic", {})
                code = await run_task(gateway, llm.base_url, "code", {"x-mcp-code-mode": "true"})
    return {
        "servers": [name for name, _ in SERVERS[:5]],
        "tools": sum(len(tools) for _, tools in SERVERS[:5]),
        "classic": classic,
        "code": code,
        "ratios_code_over_classic": {
            "model_turns": round(code["model_turns"] / classic["model_turns"], 3),
            "prompt_tokens_sent": round(code["prompt_tokens_sent"] / classic["prompt_tokens_sent"], 3),
        },
    }


def main() -> None:
    result = {
        **run_label(),
        "encoding": "o200k_base",
        "what": "one five-step task through POST /v1/chat/completions in agent mode; classic agent vs Code Mode",
        **anyio.run(measure),
    }
    path = write_result("agent_vs_code", result)
    ratios = result["ratios_code_over_classic"]
    for mode in ("classic", "code"):
        row = result[mode]
        print(f"{mode:8} turns {row['model_turns']}  prompt tokens sent {row['prompt_tokens_sent']:,}")
    print(f"code/classic: turns {ratios['model_turns']}, prompt tokens {ratios['prompt_tokens_sent']}  → {path}")


if __name__ == "__main__":
    main()
