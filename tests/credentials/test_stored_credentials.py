"""Servers that act as each user (`credentials: {mode: stored}`): each user's calls reach the upstream
with the token they linked, never the token they sent the gateway; a user without one is told how to link
it; links are encrypted at rest, listed without secrets, audited, and closing a link closes the session.

The upstream is `examples/servers/identity_server.py`, which refuses any bearer token it does not know and
answers whose token reached it. Callers are OAuth users with real RS256 tokens from a test issuer."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import load_config, parse_config
from mcp_guard.errors import ConfigError
from mcp_guard.server import standalone_app
from tests.credentials.helpers import oauth_auth, whoami
from tests.integration.gateway_fixtures import http_client
from tests.oauth.gateway import RESOURCE, bearer, stored
from tests.oauth.issuers import TestIssuer
from tests.support.processes import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = generate_key()
pytestmark = pytest.mark.anyio
SERVICE, ALICE_UPSTREAM, BOB_UPSTREAM = "svc-7f3a", "gh-alice-91c2", "gh-bob-04de"  # tokens the upstream knows


@pytest.fixture(scope="module")
def upstream() -> Any:
    port = free_port()
    argv = [sys.executable, str(ROOT / "examples/servers/identity_server.py"), "--port", str(port)]
    tokens = f"{SERVICE}=catalog,{ALICE_UPSTREAM}=alice-at-upstream,{BOB_UPSTREAM}=bob-at-upstream"
    with ServerProcess(argv, port=port, env={"IDENTITY_TOKENS": tokens}) as server:
        yield server


@pytest.fixture
async def issuer() -> AsyncIterator[TestIssuer]:
    async with TestIssuer().running() as running:
        yield running


def document(issuer: TestIssuer, upstream: Any, tmp_path: Path, **sessions: Any) -> dict[str, Any]:
    return {
        "roles": {"admin": {"tools": ["*"], "admin": True}, "user": {"tools": ["identity/*"]}},
        "keys": [{"name": "ops", "hash": hash_key(ADMIN_KEY), "roles": ["admin"]}],
        "auth": oauth_auth(issuer.issuer),
        "credentials": {"store": f"sqlite:///{tmp_path / 'credentials.db'}", "key_env": "TEST_CREDENTIALS_KEY"},
        "servers": [
            {
                "name": "identity",
                "transport": "http",
                "url": upstream.url,
                "headers": {"Authorization": f"Bearer {SERVICE}"},
                "credentials": {"mode": "stored", **sessions},
            }
        ],
        "audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"},
    }


@pytest.fixture
async def served(
    issuer: TestIssuer, upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Any:
    monkeypatch.setenv("TEST_CREDENTIALS_KEY", Fernet.generate_key().decode())
    sessions = getattr(request, "param", {})
    gateway = Gateway(parse_config(document(issuer, upstream, tmp_path, **sessions)))
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


def token_of(issuer: TestIssuer, email: str) -> str:
    return issuer.mint(issuer.claims(RESOURCE, sub=email.split("@")[0], email=email, groups=["staff"]))


def answered(response: Any) -> dict[str, Any]:
    import json

    assert response.status_code == 200, response.text
    return json.loads(response.json()["content"])


async def test_each_user_reaches_the_upstream_with_their_own_token(served: Any, issuer: TestIssuer) -> None:
    gateway, http = served
    alice, bob = token_of(issuer, "alice@example.com"), token_of(issuer, "bob@example.com")
    # the catalog came from the service credential: the tool is listed before anyone linked anything
    listed = (await http.get("/mcp/tools", headers=bearer(alice))).json()["tools"]
    assert "identity/whoami" in [tool["ref"] for tool in listed]
    for token, user, linked in ((alice, "alice@example.com", ALICE_UPSTREAM), (bob, "bob@example.com", BOB_UPSTREAM)):
        put = await http.put(f"/mcp/credentials/identity/{user}", json={"token": linked}, headers=bearer(token))
        assert put.status_code == 200, put.text
        assert "token" not in put.json() and put.json()["updated_by"] == user

    seen_alice, seen_bob = answered(await whoami(http, alice)), answered(await whoami(http, bob))
    assert seen_alice == {"user": "alice-at-upstream", "authorization": f"Bearer {ALICE_UPSTREAM}"}
    assert seen_bob == {"user": "bob-at-upstream", "authorization": f"Bearer {BOB_UPSTREAM}"}
    assert answered(await whoami(http, alice))["user"] == "alice-at-upstream"  # the pooled session again
    upstream = gateway.upstreams["identity"]
    assert upstream.open_sessions() == ["alice@example.com", "bob@example.com"]
    # neither inbound token ever reached the upstream, nor the service credential on a user's call
    for seen in (seen_alice, seen_bob):
        assert alice not in seen["authorization"] and bob not in seen["authorization"]


async def test_a_user_without_a_credential_is_told_how_to_link_one(served: Any, issuer: TestIssuer) -> None:
    gateway, http = served
    response = await whoami(http, token_of(issuer, "carol@example.com"))
    assert response.status_code == 403
    problem = response.json()
    assert (
        problem["type"].endswith(":credential_required")
        and problem["link"] == "/mcp/credentials/identity/carol@example.com"
    )
    assert "PUT /mcp/credentials/identity/carol@example.com" in problem["detail"]
    records = [r for r in await stored(gateway) if r["tool"] == "whoami"]
    assert records[-1]["decision"] == "denied" and records[-1]["reason"] == "credential_required"


async def test_links_are_sealed_listed_without_secrets_and_audited(
    served: Any, issuer: TestIssuer, tmp_path: Path
) -> None:
    gateway, http = served
    alice, bob = token_of(issuer, "alice@example.com"), token_of(issuer, "bob@example.com")
    assert (await http.put("/mcp/credentials/identity/alice@example.com", json={"token": ALICE_UPSTREAM},
                           headers=bearer(alice))).status_code == 200  # fmt: skip
    # bob may not link (or unlink) alice's; the admin may
    refused = await http.put("/mcp/credentials/identity/alice@example.com", json={"token": BOB_UPSTREAM},
                             headers=bearer(bob))  # fmt: skip
    assert refused.status_code == 403
    assert (await http.get("/mcp/credentials/identity", headers=bearer(alice))).status_code == 403
    listing = (await http.get("/mcp/credentials/identity", headers=bearer(ADMIN_KEY))).json()
    assert [c["user"] for c in listing["credentials"]] == ["alice@example.com"]
    assert ALICE_UPSTREAM not in str(listing) and "sealed" not in str(listing)
    with sqlite3.connect(tmp_path / "credentials.db") as db:
        (sealed,) = db.execute("SELECT sealed FROM upstream_credentials").fetchone()
    assert ALICE_UPSTREAM not in sealed

    assert answered(await whoami(http, alice))["user"] == "alice-at-upstream"
    deleted = await http.delete("/mcp/credentials/identity/alice@example.com", headers=bearer(ADMIN_KEY))
    assert deleted.status_code == 200
    assert gateway.upstreams["identity"].open_sessions() == []  # the session went with the credential
    assert (await whoami(http, alice)).json()["type"].endswith(":credential_required")

    changes = [r for r in await stored(gateway) if r["tool"].startswith("credentials/")]
    assert [(r["tool"], r["decision"], r["key_name"]) for r in changes] == [
        ("credentials/link", "allowed", "alice@example.com"),
        ("credentials/link", "denied", "bob@example.com"),
        ("credentials/unlink", "allowed", "ops"),
    ]
    assert all(ALICE_UPSTREAM not in str(r) and BOB_UPSTREAM not in str(r) for r in changes)


async def test_bad_bodies_are_refused_with_400(served: Any, issuer: TestIssuer) -> None:
    _, http = served
    alice = token_of(issuer, "alice@example.com")
    for body in ({}, {"token": ""}, {"token": "has space"}, {"token": 5}, ["x"]):
        response = await http.put("/mcp/credentials/identity/alice@example.com", json=body, headers=bearer(alice))
        assert response.status_code == 400, (body, response.text)
    missing = await http.put("/mcp/credentials/nope/alice@example.com", json={"token": "x"}, headers=bearer(alice))
    assert missing.status_code == 404


def test_a_per_user_server_needs_an_encryption_key() -> None:
    config = {
        "servers": [
            {"name": "s", "transport": "http", "url": "http://127.0.0.1:9/mcp", "credentials": {"mode": "stored"}}
        ]
    }
    with pytest.raises(ConfigError, match="key_file or key_env"):
        Gateway(parse_config(config))


async def test_an_mcp_client_without_a_credential_reads_how_to_link_one(served: Any, issuer: TestIssuer) -> None:
    gateway, _ = served
    carol = token_of(issuer, "carol@example.com")
    async with (
        http_client(standalone_app(gateway), headers=bearer(carol)) as http,
        Client(streamable_http_client("http://127.0.0.1/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool("identity__whoami", {})
    assert result.is_error  # a refusal of the call, as MCP clients show tool errors to the model and the user
    assert "PUT /mcp/credentials/identity/carol@example.com" in str(result.content)


@pytest.mark.parametrize("served", [{"max_sessions": 1, "idle_seconds": 0.2}], indirect=True)
async def test_sessions_are_bounded_and_closed_when_idle(served: Any, issuer: TestIssuer) -> None:
    gateway, http = served
    upstream = gateway.upstreams["identity"]
    alice, bob = token_of(issuer, "alice@example.com"), token_of(issuer, "bob@example.com")
    for token, user, linked in ((alice, "alice@example.com", ALICE_UPSTREAM), (bob, "bob@example.com", BOB_UPSTREAM)):
        await http.put(f"/mcp/credentials/identity/{user}", json={"token": linked}, headers=bearer(token))
    assert answered(await whoami(http, alice))["user"] == "alice-at-upstream"
    assert answered(await whoami(http, bob))["user"] == "bob-at-upstream"
    assert upstream.open_sessions() == ["bob@example.com"]  # the bound: alice's idle session made room
    with anyio.fail_after(10):  # the reaper runs every idle_seconds / 4
        while upstream.open_sessions():
            await anyio.sleep(0.05)
    assert answered(await whoami(http, alice))["user"] == "alice-at-upstream"  # reopened on demand


async def test_a_token_the_upstream_refuses_is_a_502_naming_the_user(served: Any, issuer: TestIssuer) -> None:
    gateway, http = served
    alice = token_of(issuer, "alice@example.com")
    await http.put(
        "/mcp/credentials/identity/alice@example.com", json={"token": "revoked-at-github"}, headers=bearer(alice)
    )
    response = await whoami(http, alice)
    assert response.status_code == 502, response.text
    assert "refused the session of 'alice@example.com'" in response.json()["detail"]
    assert "revoked-at-github" not in response.text
    assert gateway.upstreams["identity"].open_sessions() == []


async def test_the_example_configuration_runs_as_documented(
    upstream: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice_key, bob_key = generate_key(), generate_key()
    environ = {
        "ALICE_KEY_HASH": hash_key(alice_key), "BOB_KEY_HASH": hash_key(bob_key), "IDENTITY_URL": upstream.url,
        "IDENTITY_SERVICE_TOKEN": SERVICE, "MCP_GUARD_CREDENTIALS_KEY": Fernet.generate_key().decode(),
    }  # fmt: skip
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # its SQLite credential store is relative
    gateway = Gateway(load_config(ROOT / "examples/per-user-credentials.yaml"))
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        linked = await http.put(
            "/mcp/credentials/identity/alice", json={"token": ALICE_UPSTREAM}, headers=bearer(alice_key)
        )
        assert linked.status_code == 200, linked.text
        assert answered(await whoami(http, alice_key))["user"] == "alice-at-upstream"
        assert (await whoami(http, bob_key)).status_code == 403
    assert (tmp_path / "mcp-guard-credentials.db").exists()
