"""The same corpus, end to end through the gateway: each world server is a real MCP server (low-level
`mcp.server.Server`) reached by the SDK's in-memory client, and every inner call runs the full pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_guard import Gateway, GatewayConfig
from mcp_guard.code_mode import call_meta_tool
from mcp_guard.state import RequestState

from .corpus_servers import corpus_servers
from .fakes import FakeBackend
from .test_corpus import PROGRAMS

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("name", "program", "expected"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
async def test_program_through_the_gateway(name: str, program: str, expected: Any) -> None:
    backend = FakeBackend()
    gateway = Gateway(GatewayConfig(), inprocess=corpus_servers(backend))
    async with gateway.lifespan():
        result = await call_meta_tool(
            gateway, RequestState(code_mode=True), "executeToolCode", {"code": program}, entry_point="mcp"
        )
    body = result.structured_content or {}
    assert body.get("ok"), result.content[0].text
    assert body["value"] == expected
