"""A standalone gateway accepting the tokens of the test issuers, with in-process tools and a SQLite audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools

RESOURCE = "http://127.0.0.1/mcp"  # what the ASGI test client reaches
METADATA_URL = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp"
ADMIN_KEY = generate_key()


def document(issuers: list[Any], tmp_path: Path, **oauth: Any) -> dict[str, Any]:
    """`issuers`: issuer URLs, or whole `issuers` entries."""
    return {
        "roles": {"admin": {"tools": ["*"], "admin": True}, "reader": {"tools": ["calc/add"]}},
        "teams": {"blue": {"budget": {"limit": 100, "period": "1d"}}},
        "keys": [{"name": "ops", "hash": hash_key(ADMIN_KEY), "roles": ["admin"]}],
        "auth": {
            "store": "memory://",
            "oauth": {
                "resource": RESOURCE,
                "issuers": [issuer if isinstance(issuer, dict) else {"issuer": issuer} for issuer in issuers],
                "claims": {
                    "team": "team",
                    "roles": "groups",
                    "role_map": {"admin": ["admin"], "readers": ["reader"]},
                    "scopes": {"calc:add": ["calc/add"], "calc:upper": ["calc/upper"]},
                },
                "scopes_supported": ["calc:add", "calc:upper"],
                **oauth,
            },
        },
        "audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"},
    }


@asynccontextmanager
async def served(issuers: list[Any], tmp_path: Path, **oauth: Any) -> AsyncIterator[tuple[Gateway, httpx2.AsyncClient]]:
    gateway = Gateway(parse_config(document(issuers, tmp_path, **oauth)), inprocess=[make_tools()])
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def call(http: httpx2.AsyncClient, token: str, tool: str, **arguments: Any) -> httpx2.Response:
    body = {"id": "1", "type": "function", "function": {"name": tool, "arguments": arguments}}
    return await http.post("/mcp/tool/execute", json=body, headers=bearer(token))


async def stored(gateway: Gateway) -> list[dict[str, Any]]:
    """Every audit record, oldest first, once the writer has written what was queued."""
    await gateway.governance.audit.flush()
    return list(reversed(await gateway.governance.audit.query(limit=1000)))


def challenge(response: httpx2.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer k="v", ...` header."""
    scheme, _, params = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    found: dict[str, str] = {}
    for part in params.split('", '):
        name, _, value = part.partition("=")
        found[name.strip()] = value.strip().strip('"')
    return found
