"""The MCP SDK client's own OAuth flow against `mcp-guard serve examples/oauth.yaml` and `oidc-provider`:
protected-resource metadata from the 401 → authorization server metadata → dynamic client registration →
authorization code with PKCE (login and consent granted by the provider for the hinted account) → token →
tools/list → tools/call. The gateway's upstream is the example's notes server over stdio."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from tests.oauth.conftest import ACCOUNTS
from tests.oauth.issuers import OpenIDProvider
from tests.support.processes import ServerProcess, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.node]  # oidc-provider runs on node

ROOT = Path(__file__).resolve().parents[2]
REDIRECT_URI = "http://127.0.0.1:1/callback"  # never contacted: the test reads the code from the redirect


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """Plays the user's browser: opens the authorization URL (as `login_hint` account) and follows the
    provider's redirects until the one to the client's redirect URI, whose query carries the code."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.url: str | None = None
        self.visited: list[str] = []

    async def redirect(self, url: str) -> None:
        self.url = f"{url}&login_hint={self.account}"

    async def callback(self) -> AuthorizationCodeResult:
        assert self.url is not None
        url = self.url
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
            for _ in range(10):
                self.visited.append(urlsplit(url).path)
                response = await http.get(url)
                assert response.status_code in (302, 303), (url, response.status_code, response.text[:300])
                url = urljoin(url, response.headers["location"])
                if url.startswith(REDIRECT_URI):
                    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
                    assert "code" in query, query
                    return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))
        raise AssertionError(f"no redirect to {REDIRECT_URI} after {self.visited}")


@asynccontextmanager
async def example_gateway(tmp_path: Path) -> AsyncIterator[tuple[str, OpenIDProvider]]:
    """`examples/oauth.yaml` served by the CLI, its issuer a fresh `oidc-provider` for its URL."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    async with OpenIDProvider(resource, ACCOUNTS) as provider:
        env = {"OAUTH_ISSUER": provider.issuer, "OAUTH_AUDIENCE": resource, "MCPG_DATA_DIR": str(tmp_path),
               "MCPG_PYTHON": sys.executable}  # fmt: skip
        argv = [sys.executable, "-m", "mcp_guard.cli", "serve", "examples/oauth.yaml", "--port", str(port)]
        async with ServerProcess(argv, port=port, env=env, cwd=ROOT):
            yield resource, provider  # type: ignore[misc]


def oauth(resource: str, browser: Browser) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="none",
        client_name="mcp-guard test client",
    )
    return OAuthClientProvider(resource, metadata, MemoryStorage(), browser.redirect, browser.callback)


async def session_calls(resource: str, account: str) -> tuple[list[str], Any, Browser]:
    browser = Browser(account)
    async with httpx2.AsyncClient(auth=oauth(resource, browser), timeout=30) as http:
        async with Client(streamable_http_client(resource, http_client=http)) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("notes__add_note", {"title": "t", "body": "b"}) if tools else None
    return tools, result, browser


async def test_the_sdk_client_signs_in_and_calls_a_tool_through_the_example(tmp_path):
    async with example_gateway(tmp_path) as (resource, _provider):
        tools, result, browser = await session_calls(resource, "alice")  # group admin → every tool
        nobody_tools, _, _ = await session_calls(resource, "nobody")  # no group: deny by default
    assert "/auth" in browser.visited  # the provider's authorization endpoint, reached from discovery
    assert {"notes__add_note", "notes__list_notes"} <= set(tools)
    assert result is not None and not result.is_error
    assert nobody_tools == []
