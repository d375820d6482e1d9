"""The documentation's first-run material works as written: every YAML block of the README and docs/ loads
(each `${VAR}` it needs is one the text says how to set), and the README's "try it" lines run against
`mcp-guard demo`, which prints its admin key last."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_guard.auth.keys import hash_key
from mcp_guard.config import load_config
from tests.support.node import NODE_DIR, node_executable, node_script
from tests.support.processes import ServerProcess, free_port

from .launch import REPO_ROOT
from .snippets import marked_snippets

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
_YAML_BLOCK = re.compile(r"^( *)```yaml\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)
_REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # `${VAR:-default}` needs nothing
DEMO_KEY = "mcpg_demo-only-key-change-me"


def yaml_blocks() -> list[tuple[str, str, str]]:
    """(document, block, the document's text outside that block) for every YAML block."""
    blocks = []
    for document in DOCUMENTS:
        text = document.read_text()
        for index, match in enumerate(_YAML_BLOCK.finditer(text)):
            block = "\n".join(line.removeprefix(match[1]) for line in match[2].splitlines())
            blocks.append((f"{document.name}#{index}", block, text[: match.start()] + text[match.end() :]))
    return blocks


@pytest.mark.parametrize(("where", "block", "prose"), yaml_blocks(), ids=[b[0] for b in yaml_blocks()])
def test_every_yaml_block_loads_as_written(where: str, block: str, prose: str, tmp_path: Path) -> None:
    needed = set(_REQUIRED_VAR.findall(block))
    for name in needed:  # said how to set: in a comment of the block, or in the text around it
        assert re.search(rf"\b{name}\b", prose) or re.search(rf"#.*\b{name}\b", block), f"{where}: how to set {name}?"
    environ = {name: hash_key(name) if name.endswith("_HASH") else "set-by-the-reader" for name in needed}
    path = tmp_path / "gateway.yaml"
    path.write_text(block)
    load_config(path, environ=environ)


@pytest.mark.node
def test_the_readme_try_lines_run_against_the_demo(tmp_path: Path) -> None:
    [try_it] = [s for s in marked_snippets(REPO_ROOT / "README.md") if s.name == "readme-try"]
    port = free_port()
    script = try_it.code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    # Tests never download with npx: the same Inspector version, from the pinned test peers.
    npx = "npx -y @modelcontextprotocol/inspector@2.12.0"
    assert npx in script and '"@modelcontextprotocol/inspector": "2.12.0"' in (NODE_DIR / "package.json").read_text()
    script = script.replace(npx, f"{node_executable()} {node_script('mcp-inspector')}")
    demo = [str(Path(sys.executable).with_name("mcp-guard")), "demo", "--port", str(port), "--data-dir", str(tmp_path)]
    env = {"MCP_GUARD_DEMO_KEY": DEMO_KEY}
    with ServerProcess(demo, port=port, env=env, cwd=REPO_ROOT) as server:
        lines = [line for line in server.log().splitlines() if line.strip()]
        assert lines[-1].split()[:3] == ["admin", "key", DEMO_KEY]  # the last thing printed, after uvicorn's lines
        done = subprocess.run(
            ["bash", "-c", f"set -e\n{script}"], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
        )
    assert done.returncode == 0, done.stderr
    listing, executed, audit, inspected = json_documents(done.stdout)
    assert "demo__word_count" in {tool["function"]["name"] for tool in listing}
    assert json.loads(executed["content"]) == {"words": 2, "characters": 13}
    assert isinstance(audit["records"], list)
    assert "demo__convert_currency" in {tool["name"] for tool in inspected["tools"]}


def json_documents(text: str) -> list[Any]:
    """The JSON documents printed one after another (curl adds no newline between them)."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents
