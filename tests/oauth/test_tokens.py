"""Access tokens at a running standalone gateway: real RS256/ES256 tokens from `oidc-provider` accepted and
governed; every bad token refused with 401, a `WWW-Authenticate` naming the metadata and saying what is wrong,
and an audit record; a rotated key picked up without a restart."""

from __future__ import annotations

import time

import pytest

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.oauth.gateway import ADMIN_KEY, METADATA_URL, RESOURCE, bearer, call, challenge, document, served, stored
from tests.oauth.issuers import SigningKey

pytestmark = pytest.mark.anyio


@pytest.mark.node
async def test_a_provider_token_is_governed_like_a_key_with_its_roles_and_team(provider, issuer, tmp_path):
    token = await provider.client_credentials_token(RESOURCE)  # ES256, groups [admin], team blue
    async with served([issuer.issuer, provider.issuer], tmp_path) as (gateway, http):
        tools = await http.get("/mcp/tools", headers=bearer(token))
        added = await call(http, token, "calc__add", a=2, b=3)
        audit = await http.get("/mcp/audit", headers=bearer(token))  # the admin role from the groups claim
        records = await stored(gateway)
    assert tools.status_code == 200 and {t["ref"] for t in tools.json()["tools"]} >= {"calc/add", "calc/upper"}
    assert added.status_code == 200 and added.json()["content"] == "5"
    assert audit.status_code == 200
    record = next(r for r in records if r["tool"] == "add")
    assert record["key_id"] == f"{provider.issuer}#es-client"  # names the issuer and the subject
    assert (record["key_name"], record["user"]) == ("robot@example.com", "robot@example.com")
    assert (record["roles"], record["team"], record["decision"]) == (["admin"], "blue", "allowed")


@pytest.mark.node
async def test_every_bad_token_is_refused_with_its_reason_and_audited(provider, issuer, tmp_path):
    now = int(time.time())
    claims = issuer.claims
    foreign = SigningKey("RS256", kid=issuer.key.kid)  # same kid, another key: a forged signature
    bad = {
        "expired": (issuer.mint(claims(RESOURCE, iat=now - 900, exp=now - 600)), "The token expired at"),
        "not yet valid": (issuer.mint(claims(RESOURCE, nbf=now + 600)), "The token is not valid before"),
        "wrong audience": (
            issuer.mint(claims("http://127.0.0.1/other")),
            "The token's audience 'http://127.0.0.1/other' is not this resource ('http://127.0.0.1/mcp')",
        ),
        "wrong issuer": (
            issuer.mint(claims(RESOURCE, iss="http://127.0.0.1:9/evil")),
            "The token's issuer 'http://127.0.0.1:9/evil' is not accepted by this resource",
        ),
        "foreign signature": (
            issuer.mint(claims(RESOURCE), key=foreign),
            "The token's signature does not verify with its issuer's key",
        ),
        "alg none": (issuer.unsigned(claims(RESOURCE)), "The token's algorithm 'none' is not accepted"),
        "hs256 with the public key": (
            issuer.hs256_with_public_key(claims(RESOURCE)),
            "The token's algorithm 'HS256' is not accepted",
        ),
        "no exp": (issuer.mint(claims(RESOURCE, exp=None)), "The token has no 'exp' claim"),
        "unknown kid": (
            issuer.mint(claims(RESOURCE), key=SigningKey("RS256", kid="never-published")),
            "The token's signing key 'never-published' is not among the keys of issuer",
        ),
        "not a jwt": ("aaa.bbb.ccc", "The token is not a well-formed JWT"),
    }
    async with served([issuer.issuer, provider.issuer], tmp_path) as (gateway, http):
        fetches_before = issuer.jwks_requests
        responses = {name: await call(http, token, "calc__add", a=1, b=2) for name, (token, _) in bad.items()}
        records = await stored(gateway)
    for name, response in responses.items():
        expected = bad[name][1]
        assert response.status_code == 401, name
        params = challenge(response)
        assert params["error"] == "invalid_token" and params["resource_metadata"] == METADATA_URL, name
        assert params["error_description"].startswith(expected), (name, params)
        assert response.json()["detail"].startswith(expected) and "Traceback" not in response.text, name
    assert len(records) == len(bad)
    for record, (name, (token, expected)) in zip(records, bad.items(), strict=True):
        assert (record["decision"], record["reason"], record["entry"]) == ("denied", "unauthenticated", "request")
        assert record["error"].startswith(expected), name
        assert record["key_fingerprint"] and token not in str(record)  # who tried, never the token itself
    assert issuer.jwks_requests >= fetches_before + 1  # the unknown kid made the gateway look again


async def test_a_rotated_signing_key_is_accepted_without_a_restart(issuer, tmp_path):
    async with served([issuer.issuer], tmp_path, jwks_refetch_seconds=0) as (gateway, http):
        first = issuer.mint(issuer.claims(RESOURCE, groups=["readers"]))
        before = await call(http, first, "calc__add", a=1, b=1)
        issuer.published = [SigningKey("ES256")]  # the issuer rotates: the old key is gone
        rotated = issuer.mint(issuer.claims(RESOURCE, groups=["readers"]))
        after = await call(http, rotated, "calc__add", a=2, b=2)
        again = await call(http, rotated, "calc__add", a=3, b=3)
        fetches = issuer.jwks_requests
    assert (before.status_code, after.status_code, again.status_code) == (200, 200, 200)
    assert fetches == 2  # once at first use, once for the new kid; the second call came from the cache


async def test_discovery_answers_its_document_or_404_and_a_401_points_to_it(issuer, tmp_path):
    async with served([issuer.issuer], tmp_path, scopes_supported=["calc:add"]) as (_, http):
        metadata = await http.get("/.well-known/oauth-protected-resource/mcp")
        at_root = await http.get("/.well-known/oauth-protected-resource")
        other = await http.get("/.well-known/oauth-authorization-server")
        elsewhere = await http.get("/.well-known/oauth-protected-resource/other")
        missing = await http.get("/mcp/tools")
    assert metadata.status_code == 200 and metadata.json() == {
        "resource": RESOURCE,
        "authorization_servers": [issuer.issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-guard",
        "scopes_supported": ["calc:add"],
    }
    assert at_root.json() == metadata.json()
    assert (other.status_code, elsewhere.status_code) == (404, 404)
    assert missing.status_code == 401 and challenge(missing)["resource_metadata"] == METADATA_URL
    assert (
        missing.json()["detail"]
        == "An access token is required (Authorization: Bearer <token>) or an API key (x-api-key)"
    )


async def test_no_group_means_no_tool_and_a_missing_scope_is_named_on_403(issuer, tmp_path):
    async with served([issuer.issuer], tmp_path) as (_, http):
        nothing = issuer.mint(issuer.claims(RESOURCE))
        scoped = issuer.mint(issuer.claims(RESOURCE, scope="calc:upper"))
        listed = await http.get("/mcp/tools", headers=bearer(nothing))
        refused = await call(http, nothing, "calc__add", a=1, b=2)
        upper = await call(http, scoped, "calc__upper", text="x")
        short = await call(http, scoped, "calc__add", a=1, b=2)
        admin = await http.get("/mcp/audit", headers=bearer(scoped))
    assert listed.status_code == 200 and listed.json()["tools"] == []
    assert refused.status_code == 403
    assert upper.status_code == 200 and upper.json()["content"] == "X"
    assert short.status_code == 403
    params = challenge(short)
    assert (params["error"], params["scope"], params["resource_metadata"]) == (
        "insufficient_scope",
        "calc:add",
        METADATA_URL,
    )
    assert admin.status_code == 403  # no admin role: admin endpoints refused


async def test_keys_work_beside_tokens_unless_the_configuration_says_tokens_only(issuer, tmp_path):
    async with served([issuer.issuer], tmp_path) as (_, http):
        with_key = await http.get("/mcp/audit", headers={"x-api-key": ADMIN_KEY})
    async with served([issuer.issuer], tmp_path, accept_keys=False) as (_, http):
        refused = await http.get("/mcp/tools", headers={"x-api-key": ADMIN_KEY})
    assert with_key.status_code == 200
    assert refused.status_code == 401
    assert (
        challenge(refused)["error_description"]
        == "Only OAuth access tokens are accepted (Authorization: Bearer <token>)"
    )


async def test_a_token_user_has_their_own_rate_limit_and_budget(issuer, tmp_path):
    config = document([issuer.issuer], tmp_path, user_budget={"limit": 0.0025, "period": "1d"})
    config["pricing"] = {"default": 0.001}
    config["rate_limits"] = {"requests_per_key": "4/minute"}
    gateway = Gateway(parse_config(config), inprocess=[make_tools()])
    bob = issuer.mint(issuer.claims(RESOURCE, groups=["readers"]))
    carol = issuer.mint(issuer.claims(RESOURCE, sub="carol", groups=["readers"]))
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        bob_calls = [(await call(http, bob, "calc__add", a=1, b=n)).status_code for n in range(5)]
        carol_call = (await call(http, carol, "calc__add", a=1, b=1)).status_code
    assert bob_calls == [200, 200, 402, 402, 429]  # two calls fit the budget; the fifth request is over 4/minute
    assert carol_call == 200  # another user: their own budget and limit
