"""Verifying a JWT access token (RFC 9068 / RFC 7519) with PyJWT: signature, issuer, audience, lifetime.

The algorithm is pinned before any key is looked at: a token's `alg` must be one its issuer is configured
for, and only asymmetric algorithms can be configured, so `none` and HS256-keyed-with-the-public-key are
refused whatever the token says (RFC 8725 §2.1). The key is then bound to that algorithm (`IssuerKeys.key`).
Each refusal says which check failed, for the client's `error_description`; none of them carries a trace.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from ...errors import Unauthenticated
from .challenge import invalid_token
from .config import IssuerConfig, OAuthSettings
from .introspection import Introspector
from .jwks import IssuerKeys

_REQUIRED = ["exp", "iss", "aud"]


class TokenVerifier:
    """The claims of a valid token from one of the configured issuers; `Unauthenticated` otherwise."""

    def __init__(self, settings: OAuthSettings, *, clock: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self._issuers: dict[str, tuple[IssuerConfig, IssuerKeys]] = {}
        for issuer in settings.issuers:
            keys = IssuerKeys(
                issuer.issuer,
                jwks_uri=issuer.jwks_uri,
                cache_seconds=settings.jwks_cache_seconds,
                refetch_seconds=settings.jwks_refetch_seconds,
                timeout=settings.http_timeout_seconds,
                **({"clock": clock} if clock else {}),
            )
            self._issuers[issuer.issuer] = (issuer, keys)
        self.introspectors = [
            Introspector(i, i.audience or settings.resource, settings.http_timeout_seconds)
            for i in settings.issuers
            if i.introspection is not None
        ]

    def keys(self, issuer: str) -> IssuerKeys:
        return self._issuers[issuer][1]

    async def verify(self, token: str) -> dict[str, Any]:
        header, unverified = _unverified(token)
        issuer_url = unverified.get("iss")
        if not isinstance(issuer_url, str) or issuer_url not in self._issuers:
            raise invalid_token(f"The token's issuer {issuer_url!r} is not accepted by this resource")
        issuer, keys = self._issuers[issuer_url]
        algorithm = header.get("alg")
        if algorithm not in issuer.algorithms:
            allowed = ", ".join(issuer.algorithms)
            raise invalid_token(f"The token's algorithm {algorithm!r} is not accepted (allowed: {allowed})")
        kid = header.get("kid")
        key = await keys.key(kid if isinstance(kid, str) else None, algorithm)
        audience = issuer.audience or self.settings.resource
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": _REQUIRED},
            )
        except jwt_errors.InvalidTokenError as exc:
            raise _refusal(exc, unverified, audience) from None

    async def introspect(self, token: str) -> tuple[dict[str, Any], float]:
        """An opaque token's claims, from the first issuer that says it is active, and until when they may
        be reused (RFC 7662)."""
        for introspector in self.introspectors:
            answer = await introspector.introspect(token)
            if answer is not None:
                return answer
        raise invalid_token("The token is not active at any accepted issuer (introspection)")


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before any check, only to choose the issuer and key (never trusted as such)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt_errors.InvalidTokenError:
        raise invalid_token("The token is not a well-formed JWT") from None
    return header, claims


def _refusal(exc: jwt_errors.InvalidTokenError, claims: dict[str, Any], audience: str) -> Unauthenticated:
    if isinstance(exc, jwt_errors.ExpiredSignatureError):
        return invalid_token(f"The token expired at {_when(claims.get('exp'))}")
    if isinstance(exc, jwt_errors.ImmatureSignatureError):
        return invalid_token(f"The token is not valid before {_when(claims.get('nbf'))}")
    if isinstance(exc, jwt_errors.MissingRequiredClaimError):
        return invalid_token(f"The token has no {exc.claim!r} claim")
    if isinstance(exc, jwt_errors.InvalidAudienceError):
        return invalid_token(f"The token's audience {claims.get('aud')!r} is not this resource ({audience!r})")
    if isinstance(exc, jwt_errors.InvalidSignatureError):
        return invalid_token("The token's signature does not verify with its issuer's key")
    if isinstance(exc, jwt_errors.InvalidIssuedAtError):
        return invalid_token("The token's 'iat' is in the future")
    return invalid_token(f"The token is invalid: {exc}")


def _when(value: Any) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return repr(value)
