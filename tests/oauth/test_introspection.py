"""Opaque access tokens (RFC 7662): `oidc-provider` issues them, the gateway asks it whether they are active,
for this resource, and whose they are; a revoked token stops working once the cached answer ends."""

from __future__ import annotations

import pytest

from tests.oauth.gateway import RESOURCE, bearer, call, challenge, served, stored

pytestmark = [pytest.mark.anyio, pytest.mark.node]  # oidc-provider runs on node

GATEWAY_CLIENT = {"client_id": "gateway", "client_secret": "gateway-secret", "cache_seconds": 0}


async def test_an_opaque_token_is_introspected_governed_and_refused_once_revoked(provider, tmp_path):
    token = await provider.client_credentials_token(RESOURCE, client="opaque-client")  # groups [readers]
    assert token.count(".") != 2  # opaque, not a JWT
    issuers = [{"issuer": provider.issuer, "introspection": GATEWAY_CLIENT}]
    async with served(issuers, tmp_path) as (gateway, http):
        allowed = await call(http, token, "calc__add", a=1, b=2)
        hidden = await call(http, token, "calc__upper", text="x")  # the reader role grants calc/add only
        made_up = await http.get("/mcp/tools", headers=bearer("not-a-token-anyone-issued"))
        await provider.revoke(token, "opaque-client")
        revoked = await call(http, token, "calc__add", a=1, b=2)
        records = await stored(gateway)
    assert allowed.status_code == 200 and allowed.json()["content"] == "3"
    assert hidden.status_code == 403
    for refused in (made_up, revoked):
        assert refused.status_code == 401
        assert (
            challenge(refused)["error_description"] == "The token is not active at any accepted issuer (introspection)"
        )
    call_record = next(r for r in records if r["decision"] == "allowed")
    assert (call_record["key_id"], call_record["key_name"]) == (f"{provider.issuer}#opaque-client", "batch@example.com")
