"""Servers in `credentials: {mode: token_exchange}`: the caller's access token is exchanged (RFC 8693) at
the identity provider (npm `oidc-provider`, with a token-exchange grant registered in
tests/node/oidc-provider.mjs) for a JWT whose audience is the upstream; the upstream
(`examples/servers/identity_server.py --accept-jwt`) verifies that JWT against the provider's keys and
answers whose it is. The inbound token never reaches the upstream."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.credentials.helpers import oauth_auth, whoami
from tests.integration.gateway_fixtures import http_client
from tests.oauth.gateway import RESOURCE, stored
from tests.oauth.issuers import OpenIDProvider
from tests.support.processes import ServerProcess, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.node]  # oidc-provider runs on node
ROOT = Path(__file__).resolve().parents[2]
SERVICE = "svc-51ab"  # the catalog's service credential, a static token the upstream knows
ACCOUNTS = {
    "es-client": {"email": "robot@example.com", "groups": ["staff"]},
    "rs-client": {"email": "rs@example.com", "groups": ["staff"]},
    "opaque-client": {"email": "batch@example.com", "groups": ["staff"]},
}
LEGACY_KEY = generate_key()  # a virtual key: no access token to exchange
UPSTREAM_PORT = free_port()
UPSTREAM_URL = f"http://127.0.0.1:{UPSTREAM_PORT}/mcp"


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIDProvider]:
    with OpenIDProvider(RESOURCE, ACCOUNTS, exchange_audiences=(UPSTREAM_URL,)) as running:
        yield running


@pytest.fixture(scope="module")
def upstream(provider: OpenIDProvider) -> Iterator[ServerProcess]:
    script = str(ROOT / "examples/servers/identity_server.py")
    argv = [sys.executable, script, "--port", str(UPSTREAM_PORT), "--token", f"{SERVICE}=catalog"]
    with ServerProcess([*argv, "--accept-jwt", provider.issuer], port=UPSTREAM_PORT) as server:
        yield server


@pytest.fixture
async def served(provider: OpenIDProvider, upstream: ServerProcess, tmp_path: Path, monkeypatch: Any) -> Any:
    monkeypatch.setenv("TEST_GATEWAY_SECRET", "gateway-secret")
    document = {
        "roles": {"user": {"tools": ["identity/*", "stranger/*"]}},
        "keys": [{"name": "legacy", "hash": hash_key(LEGACY_KEY), "roles": ["user"]}],
        "auth": oauth_auth(provider.issuer),
        "credentials": {
            "token_exchange": {
                "issuer": provider.issuer,
                "token_endpoint": f"{provider.issuer}/token",
                "client_id": "gateway",
                "client_secret_env": "TEST_GATEWAY_SECRET",
            }
        },
        "servers": [
            {
                "name": "identity",
                "transport": "http",
                "url": UPSTREAM_URL,
                "headers": {"Authorization": f"Bearer {SERVICE}"},
                "credentials": {"mode": "token_exchange"},
            },
            {  # the same upstream under an audience the provider does not know
                "name": "stranger",
                "transport": "http",
                "url": UPSTREAM_URL,
                "headers": {"Authorization": f"Bearer {SERVICE}"},
                "credentials": {"mode": "token_exchange", "audience": "http://127.0.0.1:9/unknown"},
            },
        ],
        "audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"},
    }
    gateway = Gateway(parse_config(document))
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


async def test_each_caller_reaches_the_upstream_with_a_token_exchanged_for_its_audience(
    served: Any, provider: OpenIDProvider
) -> None:
    gateway, http = served
    robot, rs = (
        await provider.client_credentials_token(RESOURCE),
        await provider.client_credentials_token(RESOURCE, "rs-client"),
    )
    for inbound, subject in ((robot, "es-client"), (rs, "rs-client")):
        response = await whoami(http, inbound)
        assert response.status_code == 200, response.text
        seen = json.loads(response.json()["content"])
        assert seen["user"] == subject  # the upstream verified a token of the provider, about this caller
        exchanged = seen["authorization"].removeprefix("Bearer ")
        assert exchanged != inbound and inbound not in seen["authorization"]
        claims = jwt.decode(exchanged, options={"verify_signature": False})
        assert claims["aud"] == UPSTREAM_URL and claims["iss"] == provider.issuer
        assert claims["act"] == {"sub": "gateway"} and claims["sub"] == subject
    again = json.loads((await whoami(http, robot)).json()["content"])
    assert again["user"] == "es-client"
    assert gateway.upstreams["identity"].open_sessions() == ["robot@example.com", "rs@example.com"]


async def test_an_exchange_the_provider_refuses_is_a_403_with_its_reason(served: Any, provider: OpenIDProvider) -> None:
    gateway, http = served
    response = await whoami(http, await provider.client_credentials_token(RESOURCE), server="stranger")
    assert response.status_code == 403, response.text
    assert "refused by the identity provider (400: unknown audience http://127.0.0.1:9/unknown)" in response.text
    records = [r for r in await stored(gateway) if r["server"] == "stranger"]
    assert [(r["decision"], r["reason"]) for r in records] == [("denied", "not_allowed")]


async def test_a_virtual_key_has_no_token_to_exchange_and_is_told_so(served: Any, provider: OpenIDProvider) -> None:
    _, http = served
    response = await whoami(http, LEGACY_KEY)
    assert response.status_code == 403, response.text
    assert "call it with an access token of that issuer" in response.json()["detail"]
    assert provider.issuer in response.json()["detail"]
