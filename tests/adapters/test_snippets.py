"""The README's and docs/frameworks.md's marked Python snippets, each run as the app of a real uvicorn server,
so the documentation cannot drift from the adapters.

Every Python snippet defines `app` and a `/me` route that returns the caller's key name; each runs against
the configuration its document shows (`readme-gateway.yaml`, or the `gateway.yaml` of docs/frameworks.md),
written next to it, with the virtualenv's `bin` first on PATH as an activated virtualenv has it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mcp_guard.auth.keys import generate_key, hash_key
from tests.integration.upstream_fixtures import keyed_client

from .launch import REPO_ROOT, Served, assert_problem, uvicorn_app
from .snippets import Snippet, marked_snippets

pytestmark = pytest.mark.anyio

DOCUMENTS = [REPO_ROOT / "README.md", REPO_ROOT / "docs" / "frameworks.md"]
SNIPPETS = [snippet for document in DOCUMENTS for snippet in marked_snippets(document)]
PYTHON = [snippet for snippet in SNIPPETS if snippet.language == "python"]
CONFIGS = {
    "README.md": next(s for s in SNIPPETS if s.name == "readme-gateway.yaml"),
    "frameworks.md": next(s for s in SNIPPETS if s.name == "gateway.yaml"),
}


def activated_env(**extra: str) -> dict[str, str]:
    """The environment of a shell whose virtualenv (this interpreter's) is active."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def test_each_document_shows_every_framework() -> None:
    names = {snippet.name for snippet in PYTHON}
    assert {f"{doc}-{fw}" for doc in ("readme", "docs") for fw in ("fastapi", "litestar", "starlette")} <= names


@pytest.mark.parametrize("snippet", PYTHON, ids=str)
async def test_snippet_mounts_the_gateway_and_governs_what_it_is_asked_to(snippet: Snippet, tmp_path: Path) -> None:
    (tmp_path / "gateway.yaml").write_text(CONFIGS[snippet.document].code)
    (tmp_path / "snippet_app.py").write_text(snippet.code)
    key = generate_key()
    env = activated_env(MCPG_ADMIN_KEY_HASH=hash_key(key))
    async with uvicorn_app("snippet_app:app", cwd=tmp_path, env=env) as server:
        served = Served(server, key)
        await _check_routes(served, snippet)
        await _check_mcp(served, snippet)


async def _check_routes(served: Served, snippet: Snippet) -> None:
    async with served.http() as anonymous:
        assert_problem(await anonymous.get("/me"), 401, "unauthenticated")
        assert_problem(await anonymous.get("/mcp/tools"), 401, "unauthenticated")
        if '("/health")' in snippet.code:  # the snippet has a health route: the app's own, untouched
            assert (await anonymous.get("/health")).json() == {"status": "ok"}
        assert (await anonymous.get("/mcp/openapi.json")).status_code == 200
    async with served.http(served.admin_key) as client:
        assert (await client.get("/me")).json() == {"key": "root" if snippet.document == "frameworks.md" else "admin"}
        if 'governed_route(tool="billing/invoice_total"' in snippet.code:
            assert (await client.get("/invoices/acme")).json() == {"total": 1234.5}
            excluded = await client.get("/invoices/acme", headers={"x-mcp-exclude-tools": "billing/*"})
            assert_problem(excluded, 403, "filtered")


async def _check_mcp(served: Served, snippet: Snippet) -> None:
    has_tool = 'InProcessServer("billing")' in snippet.code
    async with keyed_client(served.mcp_url, served.admin_key) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        expected = {"billing__invoice_total"} if has_tool else set()
        if snippet.document == "README.md":  # the README's configuration: demo tools and the `time` server
            expected |= {"demo__word_count", "demo__convert_currency", "time__get_current_time", "time__convert_time"}
        assert names == expected
        if has_tool:
            result = await client.call_tool("billing__invoice_total", {"customer_id": "acme", "month": "2026-11"})
            assert result.structured_content == {"result": 1234.5}
