"""A `websearch` server for the Bifrost requests (`test_bifrost.py`): `mcp-guard serve` loads it as the
in-process target `tests.adapters.bifrost_tools:websearch` (from the repository root, its working
directory). It answers from a fixed index: the test is about the gateway, not about searching."""

from __future__ import annotations

from mcp_guard import InProcessServer

websearch = InProcessServer("websearch")

INDEX = {"mcp": ["modelcontextprotocol.io", "github.com/modelcontextprotocol"], "bifrost": ["getbifrost.ai"]}


@websearch.tool
def search(query: str) -> list[str]:
    """Web pages about `query`."""
    return INDEX.get(query.lower(), [])
