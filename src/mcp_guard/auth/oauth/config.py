"""`auth.oauth`: the gateway as an OAuth 2.1 resource server (docs/oauth.md).

Tokens are JWT access tokens signed by one of `issuers`, whose keys come from the JWKS its RFC 8414 / OpenID
Connect metadata names. Their claims become a principal through `claims`: who the user is, their team, their
roles, and the tools their scopes grant. Roles and teams are the ones of the configuration (`roles:`,
`teams:`), so a token's user is governed exactly like a key with those roles and that team.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...budget.config import BudgetConfig
from ...patterns import ToolPattern

# Asymmetric algorithms only: a token must be verified with the issuer's public key. `none` and the HMAC
# family (HS*) are refused in the configuration, so a token cannot pick them (RFC 8725 §3.1, §2.1).
Algorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
_DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntrospectionConfig(_Model):
    """RFC 7662 token introspection, for an issuer whose access tokens are opaque (not JWTs)."""

    client_id: str = Field(min_length=1, description="The gateway's client id at the issuer.")
    client_secret: str = Field(min_length=1, description="Its secret (use `${ENV}`), sent with HTTP Basic.")
    endpoint: str | None = Field(None, description="Default: `introspection_endpoint` of the issuer's metadata.")
    cache_seconds: float = Field(
        60, ge=0, description="How long an answer is reused at most (never past the token's `exp`)."
    )


class IssuerConfig(_Model):
    """One authorization server whose tokens are accepted."""

    issuer: str = Field(min_length=1, description="The `iss` of its tokens, exactly as its metadata states it.")
    audience: str | None = Field(
        None, description="The `aud` its tokens must carry; default `auth.oauth.resource` (RFC 8707)."
    )
    algorithms: list[Algorithm] = Field(
        default_factory=lambda: list(_DEFAULT_ALGORITHMS),
        min_length=1,
        description="Signature algorithms accepted (asymmetric only; `none` and HS* cannot be configured).",
    )
    jwks_uri: str | None = Field(
        None,
        description="Where its keys are; default: the `jwks_uri` of its metadata (RFC 8414 "
        "`/.well-known/oauth-authorization-server`, then OpenID `/.well-known/openid-configuration`).",
    )
    introspection: IntrospectionConfig | None = Field(
        None, description="Check opaque access tokens at the issuer's introspection endpoint (RFC 7662)."
    )


class ClaimMapping(_Model):
    """How a token's claims become a principal. Nothing is granted by default: a user whose groups map to
    no role and whose scopes grant no tool sees no tool."""

    user: list[str] = Field(
        default_factory=lambda: ["email", "sub"],
        min_length=1,
        description="Claims naming the user, first present wins (shown in audit records and errors).",
    )
    team: str | None = Field(None, description="Claim holding the team name; it must name a team of `teams:`.")
    roles: str | None = Field(None, description="Claim holding a list of groups or roles (or one string).")
    role_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Group → roles of `roles:`. Groups not listed map to nothing; without a map, a group that "
        "names a configured role is that role.",
    )
    scopes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Scope (from the `scope`/`scp` claim) → patterns it grants beyond the roles (tools, or "
        "`resource:` / `prompt:` ones, as under `roles:`).",
    )

    @field_validator("scopes")
    @classmethod
    def _patterns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in value.values():
            for text in patterns:
                ToolPattern.parse(text)
        return value


class OAuthSettings(_Model):
    resource: str = Field(
        description="This gateway's resource URL as clients reach its MCP endpoint (e.g. "
        "`https://gw.example.com/mcp`): the audience tokens must carry and the `resource` of its RFC 9728 metadata."
    )
    issuers: list[IssuerConfig] = Field(min_length=1, description="Authorization servers whose tokens are accepted.")
    claims: ClaimMapping = Field(default_factory=ClaimMapping, description="Claims → user, team, roles, grants.")
    accept_keys: bool = Field(True, description="Virtual keys are accepted beside tokens; false: tokens only.")
    scopes_supported: list[str] = Field(
        default_factory=list, description="Scopes listed in the protected-resource metadata (and asked for on 403)."
    )
    user_budget: BudgetConfig | None = Field(None, description="Spend limit of each token user alone.")
    leeway_seconds: float = Field(30, ge=0, le=300, description="Clock skew tolerated on `exp`, `nbf` and `iat`.")
    jwks_cache_seconds: float = Field(3600, gt=0, description="How long an issuer's metadata and keys are reused.")
    jwks_refetch_seconds: float = Field(
        30,
        ge=0,
        description="A token with an unknown `kid` refetches the issuer's keys at most once per this interval "
        "(key rotation is picked up without a restart; a flood of made-up `kid`s costs one fetch).",
    )
    token_cache_bytes: int = Field(
        4_000_000, ge=0, description="Memory for verified tokens (each reused until it expires); 0: no cache."
    )
    http_timeout_seconds: float = Field(5, gt=0, description="Timeout of metadata and JWKS requests.")

    @field_validator("resource")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an absolute http(s) URL such as 'https://gw.example.com/mcp'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _distinct_issuers(self) -> OAuthSettings:
        seen = [i.issuer for i in self.issuers]
        if len(seen) != len(set(seen)):
            raise ValueError("each issuer may be listed once")
        return self
