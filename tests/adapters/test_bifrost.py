"""Bifrost users' requests (../shared/BIFROST-EXAMPLES.md, from Bifrost's MCP documentation) sent unchanged
with curl to `mcp-guard serve`: tool execution in both formats, the `x-bf-vk` key header, the filter headers
in every form Bifrost documents, and the cost breakdown. The upstreams are the real npm filesystem server
(over stdio) and an in-process `websearch`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from mcp_guard.auth.keys import generate_key, hash_key
from tests.support.node import node_executable, node_script

from .launch import Served, standalone_gateway

pytestmark = pytest.mark.node

ENGINEERING, MARKETING, ADMIN = generate_key(), generate_key(), generate_key()
README = "# notes\nThe team's shared files.\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("bifrost")
    files = root / "files"
    files.mkdir()
    (files / "README.md").write_text(README)
    config = {
        "servers": {
            "filesystem": {
                "transport": "stdio",
                "command": node_executable(),
                "args": [str(node_script("mcp-server-filesystem")), str(files)],
                "cwd": str(files),
            },
            "websearch": {"transport": "inprocess", "target": "tests.adapters.bifrost_tools:websearch"},
        },
        "roles": {
            "engineering": {"tools": ["filesystem/*", "websearch/*"]},
            "marketing": {"tools": ["websearch/*"]},
            "admin": {"tools": ["*"], "admin": True},
        },
        "teams": {"team-engineering": {"budget": {"limit": 1000, "period": "1M", "calendar": True}}},
        "keys": [
            {"name": "eng", "hash": hash_key(ENGINEERING), "roles": ["engineering"], "team": "team-engineering"},
            {"name": "marketing", "hash": hash_key(MARKETING), "roles": ["marketing"]},
            {"name": "admin", "hash": hash_key(ADMIN), "roles": ["admin"]},
        ],
        "pricing": {"servers": {"filesystem": 0.002}, "tools": {"websearch/search": 0.01}},
        "auth": {"store": "memory://"},
        "budgets": {"storage": "memory://"},
        "audit": {"sink": f"sqlite:///{root / 'audit.db'}", "synchronous": True},
    }
    (root / "gateway.yaml").write_text(yaml.safe_dump(config))
    with standalone_gateway(root / "gateway.yaml") as server:
        yield Served(server, ADMIN)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def curl(gateway: Served, command: str, key: str = ENGINEERING) -> Answer:
    """A Bifrost documentation curl line, run as written (`$URL` and `$KEY` from the environment), with
    `-s -i` added to see the whole answer."""
    env = {**os.environ, "URL": gateway.base_url, "KEY": key}
    done = subprocess.run(["bash", "-c", f"{command} -s -i"], capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.split("\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return Answer(int(status_line.split()[1]), headers, json.loads(body) if body.strip() else None)


EXECUTE = """curl -X POST "$URL/v1/mcp/tool/execute" -H "x-bf-vk: $KEY" -H "content-type: application/json" \
  -d '{"id": "call_xyz789", "type": "function",
       "function": {"name": "filesystem-read_file", "arguments": "{\\"path\\": \\"README.md\\"}"}}'"""


def test_execute_a_tool_call_with_a_bifrost_virtual_key(gateway: Served) -> None:
    answer = curl(gateway, EXECUTE)
    assert answer.status == 200, answer.body
    assert answer.body == {"role": "tool", "tool_call_id": "call_xyz789", "content": README}


def test_the_older_underscore_name_and_the_responses_format(gateway: Served) -> None:
    older = curl(gateway, EXECUTE.replace("filesystem-read_file", "filesystem_read_file"))
    assert older.body["content"] == README
    responses = curl(
        gateway,
        """curl -X POST "$URL/v1/mcp/tool/execute?format=responses" -H "x-bf-vk: $KEY" \
          -H "content-type: application/json" \
          -d '{"type": "function_call", "call_id": "fc_1", "name": "websearch-search",
               "arguments": "{\\"query\\": \\"mcp\\"}"}'""",
    )
    assert responses.body["type"] == "function_call_output" and responses.body["call_id"] == "fc_1"
    assert responses.body["output"] == "modelcontextprotocol.io\ngithub.com/modelcontextprotocol"


def test_roles_come_from_the_key_never_from_the_body(gateway: Served) -> None:
    claimed = EXECUTE.replace('"type": "function",', '"type": "function", "user_role": "engineering",')
    refused = curl(gateway, claimed, key=MARKETING)
    assert refused.status == 403, refused.body
    assert refused.body["detail"] == "Tool 'filesystem/read_file' is not allowed for key 'marketing' (roles: marketing)"
    assert curl(gateway, EXECUTE, key="mcpg_not-a-key").status == 401


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("x-bf-mcp-include-clients: filesystem,websearch", None),
        ("x-bf-mcp-include-clients: websearch", {"websearch__search"}),
        (
            "x-bf-mcp-include-tools: filesystem/read_file,websearch/search",
            {"filesystem__read_file", "websearch__search"},
        ),
        ("x-bf-mcp-include-tools: filesystem-read_file,websearch-*", {"filesystem__read_file", "websearch__search"}),
        ("x-bf-mcp-include-tools: filesystem/*", "filesystem"),
        ("x-bf-mcp-include-tools;", set()),  # present and empty (curl sends an empty header for `name;`): nothing
    ],
)
def test_per_request_filters_in_every_bifrost_form(gateway: Served, header: str, expected: Any) -> None:
    everything = {tool["name"] for tool in curl(gateway, 'curl "$URL/mcp/tools" -H "x-bf-vk: $KEY"').body["tools"]}
    listed = curl(gateway, f'curl "$URL/mcp/tools" -H "x-bf-vk: $KEY" -H "{header}"')
    names = {tool["name"] for tool in listed.body["tools"]}
    if expected is None:
        assert names == everything and len(names) > 2
    elif expected == "filesystem":
        assert names == {name for name in everything if name.startswith("filesystem__")} and len(names) > 2
    else:
        assert names == expected
    assert "x-mcp-guard-warning" not in listed.headers


def test_a_filter_that_matches_nothing_configured_says_so(gateway: Served) -> None:
    header = "x-bf-mcp-include-tools: secure-database/*,audit-logger/log_access"
    listed = curl(gateway, f'curl "$URL/mcp/tools" -H "x-bf-vk: $KEY" -H "{header}"')
    assert listed.status == 200 and listed.body == {"tools": []}
    warning = listed.headers["x-mcp-guard-warning"]
    assert "'secure-database/*'" in warning and "'audit-logger/log_access'" in warning
    assert "servers: filesystem, websearch" in warning
    assert "Filter entries match nothing configured" in gateway.server.log()  # and one log line
    filtered = curl(gateway, EXECUTE.replace("-d '", '-H "x-bf-mcp-include-tools: websearch-*" -d \''))
    assert filtered.status == 403 and filtered.body["type"] == "urn:mcp-guard:problem:filtered"


def test_cost_breakdown_for_a_team(gateway: Served) -> None:
    curl(gateway, EXECUTE)  # filesystem: $0.002
    costs = curl(
        gateway, 'curl "$URL/v1/analytics/costs?team_id=team-engineering&period=month" -H "x-bf-vk: $KEY"', key=ADMIN
    )
    assert costs.status == 200, costs.body
    assert costs.body["budget"] == "$1000.00" and costs.body["total_cost"].startswith("$")
    spent = sum(use["calls"] for use in costs.body["usage"])
    assert costs.body["remaining"] == _usd(1000 - costs.body["total"]) and spent >= 1
    tools = {use["tool"]: use for use in costs.body["usage_by_tool"]}
    assert tools["filesystem/read_file"]["cost"] == _usd(0.002 * tools["filesystem/read_file"]["calls"])
    assert curl(gateway, 'curl "$URL/v1/analytics/costs?team_id=team-engineering" -H "x-bf-vk: $KEY"').status == 403


def test_bifrost_paths_with_an_equivalent_here(gateway: Served) -> None:
    clients = curl(gateway, 'curl "$URL/api/mcp/clients" -H "x-bf-vk: $KEY"')
    assert {server["name"]: server["state"] for server in clients.body["servers"]} == {
        "filesystem": "connected", "websearch": "connected",
    }  # fmt: skip
    chat = curl(
        gateway,
        """curl -X POST "$URL/v1/chat/completions" -H "x-bf-vk: $KEY" -H "content-type: application/json" \
          -d '{"model": "openai/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}'""",
    )
    assert chat.status == 400 and "provider" in chat.body["detail"]  # the chat endpoint: no provider configured


def _usd(amount: float) -> str:
    from mcp_guard.budget.guard import usd
    from mcp_guard.budget.ledger import to_micros

    return usd(to_micros(amount))
