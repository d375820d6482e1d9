"""The parts behind the door, one at a time: an issuer's keys (refetch bound, shared fetches, rotation), the
per-token cache (bounded in bytes, reused until expiry), claims → principal, and the configuration's refusals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_guard.auth.oauth.jwks import IssuerKeys, metadata_urls
from mcp_guard.auth.oauth.verifier import TokenVerifier
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError, Unauthenticated
from mcp_guard.names import ToolRef
from tests.oauth.gateway import RESOURCE, document
from tests.oauth.issuers import SigningKey
from tests.support.clock import ManualClock

pytestmark = pytest.mark.anyio


async def test_an_unknown_kid_refetches_at_most_once_per_interval_and_rotation_is_picked_up(issuer):
    clock = ManualClock()
    keys = IssuerKeys(issuer.issuer, refetch_seconds=30, clock=clock)
    await keys.key(issuer.key.kid, "RS256")
    assert issuer.jwks_requests == 1

    clock.now += 1
    with pytest.raises(Unauthenticated, match="'made-up' is not among the keys"):
        await keys.key("made-up", "RS256")
    assert issuer.jwks_requests == 1  # within the interval: no fetch for a made-up kid

    clock.now += 30
    issuer.published.append(SigningKey("ES256", kid="next"))  # the issuer adds its next key
    async with anyio.create_task_group() as group:  # a burst of requests with the new kid: one fetch
        for _ in range(20):
            group.start_soon(keys.key, "next", "ES256")
    assert issuer.jwks_requests == 2

    clock.now += 1
    with pytest.raises(Unauthenticated, match="is for ES256, not RS256"):
        await keys.key("next", "RS256")  # the key decides its algorithm, not the token


async def test_an_unreachable_issuer_is_a_503_not_a_401():
    from mcp_guard.errors import ServiceUnavailable

    keys = IssuerKeys("http://127.0.0.1:9", timeout=1)
    with pytest.raises(ServiceUnavailable, match="Cannot fetch the signing keys of issuer 'http://127.0.0.1:9'"):
        await keys.key("any", "RS256")


def test_metadata_urls_follow_rfc_8414_then_openid_discovery():
    assert metadata_urls("https://idp.example.com") == [
        "https://idp.example.com/.well-known/oauth-authorization-server",
        "https://idp.example.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://idp.example.com/realms/acme") == [
        "https://idp.example.com/.well-known/oauth-authorization-server/realms/acme",
        "https://idp.example.com/.well-known/openid-configuration/realms/acme",
        "https://idp.example.com/realms/acme/.well-known/openid-configuration",
    ]


class CountingVerifier(TokenVerifier):
    """The real verifier, counting how often a token really is verified."""

    verified = 0

    async def verify(self, token: str) -> dict[str, Any]:
        self.verified += 1
        return await super().verify(token)


def authenticator(issuer_url: str, tmp_path: Path, **oauth: Any) -> Any:
    from mcp_guard.auth.resolver import KeyResolver
    from mcp_guard.auth.store import MemoryKeyStore

    config = parse_config(document([issuer_url], tmp_path, **oauth))
    resolver = KeyResolver(config, MemoryKeyStore())
    assert resolver.tokens is not None
    resolver.tokens.verifier = CountingVerifier(config.auth.oauth)  # type: ignore[arg-type]
    return resolver.tokens


async def test_a_token_is_verified_once_and_reused_until_it_expires(issuer, tmp_path):
    tokens = authenticator(issuer.issuer, tmp_path)
    token = issuer.mint(issuer.claims(RESOURCE, groups=["readers"]))
    first = await tokens.authenticate(token, 0)
    second = await tokens.authenticate(token, 0)
    assert first is second and tokens.verifier.verified == 1
    other = await tokens.authenticate(issuer.mint(issuer.claims(RESOURCE, groups=["readers"], jti="2")), 0)
    assert other is first  # another token of the same user and grants: the same identity (and access cache)
    await tokens.authenticate(token, 10**12)  # past its expiry: verified again
    assert tokens.verifier.verified == 3


async def test_the_token_cache_stays_within_its_bytes(issuer, tmp_path):
    tokens = authenticator(issuer.issuer, tmp_path, token_cache_bytes=5000)
    for n in range(40):
        await tokens.authenticate(issuer.mint(issuer.claims(RESOURCE, jti=str(n), pad="x" * 200)), 0)
    assert 0 < tokens._tokens.used <= 5000 and len(tokens._tokens) < 40


async def test_claims_become_roles_team_and_grants(issuer, tmp_path):
    tokens = authenticator(issuer.issuer, tmp_path)
    claims = issuer.claims(RESOURCE, email="bob@example.com", groups="admin", team="blue", scp=["calc:upper"])
    identity = tokens.identity(claims)
    principal = identity.principal
    assert (principal.key_id, principal.key_name) == (f"{issuer.issuer}#bob", "bob@example.com")
    assert (principal.roles, principal.team, principal.is_admin) == (("admin",), "blue", True)
    assert [b.tier for b in principal.budgets] == ["team"]
    unmapped = tokens.identity(issuer.claims(RESOURCE, groups=["staff", "reader"], scope="calc:nothing"))
    assert unmapped.principal.roles == () and not unmapped.principal.is_admin  # only role_map's groups count
    with pytest.raises(Unauthenticated, match="The token names no user"):
        tokens.identity({"iss": issuer.issuer, "aud": RESOURCE, "exp": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuers": [{"issuer": "https://idp", "algorithms": ["HS256"]}]}, "Input should be 'RS256'"),
        ({"issuers": [{"issuer": "https://idp", "algorithms": ["none"]}]}, "Input should be 'RS256'"),
        ({"resource": "gw.example.com/mcp"}, "expected an absolute http(s) URL"),
        ({"claims": {"roles": "groups", "role_map": {"g": ["nope"]}}}, "names role 'nope', which is not under"),
        ({"issuers": [{"issuer": "https://idp"}, {"issuer": "https://idp"}]}, "each issuer may be listed once"),
    ],
)
def test_the_configuration_refuses_unsafe_or_dangling_settings(change, message, tmp_path):
    config = document(["https://idp"], tmp_path)
    config["auth"]["oauth"].update(change)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(config)


@pytest.mark.parametrize(
    "odd",
    [
        {"groups": 5, "team": {"a": 1}, "scope": 7},
        {"groups": {"admin": True}, "scp": {"calc:add": 1}, "team": ["blue"]},
        {"email": 5, "sub": ["bob"], "groups": [["admin"], None, 3]},
    ],
)
async def test_odd_claim_types_map_to_nothing_instead_of_crashing(odd, issuer, tmp_path):
    tokens = authenticator(issuer.issuer, tmp_path)
    claims = {**issuer.claims(RESOURCE), **odd}
    try:
        identity = tokens.identity(claims)
    except Unauthenticated as refused:  # no usable user claim (`sub` is not a string): a 401, not a crash
        assert refused.message.startswith("The token names no user")
        return
    assert identity.principal.roles == () and identity.principal.team is None
    assert not identity.access.allows(ToolRef.parse("calc/add"))
